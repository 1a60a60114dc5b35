"""Volunteer shifts: partner organizations schedule help, volunteers sign up and report back."""
