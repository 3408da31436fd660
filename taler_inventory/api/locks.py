"""Endpoints of locks (filled in by its issue)."""
from flask import Blueprint

bp = Blueprint("locks", __name__)
