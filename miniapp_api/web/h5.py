"""The family's H5 self-service pages (/h5). (Being built.)"""

from flask import Blueprint

bp = Blueprint("h5", __name__)
