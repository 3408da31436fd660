"""Endpoints of pos (filled in by its issue)."""
from flask import Blueprint

bp = Blueprint("pos", __name__)
