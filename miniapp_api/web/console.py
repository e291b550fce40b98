"""The one-stop window console (/console): staff sign in and work cases. (Being built.)"""

from flask import Blueprint

bp = Blueprint("console", __name__)
