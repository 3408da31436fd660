"""Endpoints of categories (filled in by its issue)."""
from flask import Blueprint

bp = Blueprint("categories", __name__)
