"""Privacy: retention, access and deletion requests, the monthly audit review, security settings."""
