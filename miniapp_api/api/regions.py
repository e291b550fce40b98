"""Regions and their dialogs: what a mini-program needs before the family starts."""

from flask import Blueprint, jsonify

from ..domain.vocabulary import load_vocabulary
from ..services import questionnaires
from . import presenters

bp = Blueprint("regions", __name__)


@bp.get("/regions")
def list_regions():
    regions = [questionnaires.dialog_for(r) for r in load_vocabulary().regions]
    return jsonify({"regions": [{"id": d.region, "name": d.name.zh, "name_en": d.name.en} for d in regions]})


@bp.get("/regions/<region>/dialog")
def get_dialog(region: str):
    return jsonify(presenters.dialog(questionnaires.dialog_for(region)))
