"""Thin route modules: each exposes `router`, collected by fieldlog.web.create_app in name order."""
