"""WSGI entry point: `gunicorn wsgi:app`."""
from volnet import create_app

app = create_app()
