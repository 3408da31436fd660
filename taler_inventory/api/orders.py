"""Endpoints of orders (filled in by its issue)."""
from flask import Blueprint

bp = Blueprint("orders", __name__)
