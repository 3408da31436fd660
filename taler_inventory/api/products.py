"""Endpoints of products (filled in by its issue)."""
from flask import Blueprint

bp = Blueprint("products", __name__)
