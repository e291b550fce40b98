"""Regions and their dialogs: what a mini-program needs before the family starts."""

from flask import jsonify
from flask_smorest import Blueprint

from ..domain.vocabulary import load_vocabulary
from ..services import questionnaires
from . import presenters, responses
from .operations import PUBLIC, operation, path

bp = Blueprint("regions", __name__, description="What a mini-program needs before the family starts")


@bp.get("/regions")
@bp.response(200, responses.Regions)
@operation("listRegions", "The five regions", PUBLIC)
def list_regions():
    regions = [questionnaires.dialog_for(r) for r in load_vocabulary().regions]
    return jsonify({"regions": [{"id": d.region, "name": d.name.zh, "name_en": d.name.en} for d in regions]})


@bp.get("/regions/<region>/dialog")
@bp.response(200, responses.Dialog)
@operation("getDialog", "A region's whole dialog (questions, options, conditions, matters), to render offline", PUBLIC,
           errors=(404,), parameters=[path("region", "region id", {"type": "string", "enum": responses.REGIONS})])
def get_dialog(region: str):
    return jsonify(presenters.dialog(questionnaires.dialog_for(region)))
