"""Helpers for driving the real Taler clients against the real server: the served
backend with a shop instance, and stand-ins for the web frameworks the clients live in."""
