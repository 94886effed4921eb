"""Flask-Admin: the clinic area and the editors' moderation tools, in one admin.

`init_admin(app)` builds a fresh `Admin` per app (a module-level one breaks a
second app in tests). Every view checks the role on the server (`access.py`);
the menu only shows what the signed-in user may open.

URLs (all under /admin):
  /admin/                         home: queue sizes (staff) or a short guide (clinics)
  /admin/my-listings/             clinic: owned listings; <id>/, <id>/edit, <id>/verify,
                                  <id>/insights
  /admin/new-listing/             clinic: submit a new listing
  /admin/claim/                   clinic: search published listings; <id> claim form
  /admin/submissions/             clinic: own revisions; <id>/, <id>/withdraw
  /admin/moderation/              staff: queue; <id>/, <id>/approve|reject|request-changes
  /admin/checks/                  staff: credential checks due; <clinic id>/, record/<n>,
                                  <clinic id>/confirm
  /admin/insights/                staff: every listing's monthly counts, summed
  /admin/invitations/             staff: invitations to claim unclaimed listings; send
  /admin/imports/                 staff: imports of clinic lists; upload, template.csv|xlsx,
                                  <id>/ (mapping, dry run, progress), <id>/mapping|start|cancel
  /admin/clinics/                 staff: listings (Flask-Admin model view)
  /admin/modalities/ conditions/ insurers/ payment-options/   staff: vocabularies
  /admin/users/                   staff: clinic accounts (admins: every account)
  /admin/audit/                   staff: the audit log, read-only
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_admin import Admin, BaseView
from flask_admin.menu import MenuLink
from flask_admin.theme import Bootstrap4Theme

from ..extensions import db
from ..models import AuditEvent, Clinic, Condition, Insurer, Modality, PaymentOption, User
from .check_views import CheckView
from .clinic_views import CATEGORY as CLINIC_CATEGORY
from .clinic_views import ClaimView, MyListingsView, NewListingView, SubmissionsView
from .display import register_filters
from .import_views import ImportView
from .insights_views import InsightsView
from .invitation_views import InvitationView
from .model_views import (
    DATA_CATEGORY,
    AuditLogView,
    ClinicAdmin,
    ConditionAdmin,
    InsurerAdmin,
    ModalityAdmin,
    PaymentOptionAdmin,
    UserAdmin,
)
from .moderation_views import AdminHome, ModerationView

# Our base template pins every stylesheet to the package's own files; the "default"
# swatch is the only kind of Bootswatch theme that does not @import Google Fonts.
THEME = {"swatch": "default", "fluid": True, "base_template": "admin/directory/base.html"}


def init_admin(app: Flask) -> Admin:
    """Build the admin for this app and register its views."""
    admin = Admin(
        app,
        name="Directory admin",
        url="/admin",
        index_view=AdminHome(name="Home", url="/admin"),
        theme=Bootstrap4Theme(**THEME),
    )
    for view in _views():
        admin.add_view(view)
    admin.add_link(MenuLink(name="Public site", url="/"))
    register_filters(app)
    return admin


def _views() -> list[BaseView]:
    """Every view, in menu order. Endpoints are prefixed with "admin_" so they cannot
    collide with the app's other blueprints."""
    moderation, data, clinic = "Moderation", DATA_CATEGORY, CLINIC_CATEGORY

    def names(name: str, endpoint: str, url: str, category: str | None) -> dict[str, Any]:
        return {"name": name, "endpoint": f"admin_{endpoint}", "url": url, "category": category}

    return [
        ModerationView(**names("Queue", "moderation", "moderation", moderation)),
        CheckView(**names("Checks", "checks", "checks", moderation)),
        InsightsView(**names("Insights", "insights", "insights", moderation)),
        AuditLogView(AuditEvent, db, **names("Audit log", "audit", "audit", moderation)),
        ClinicAdmin(Clinic, db, **names("Clinics", "clinics", "clinics", data)),
        ImportView(**names("Import a list", "imports", "imports", data)),
        InvitationView(**names("Invitations to claim", "invitations", "invitations", data)),
        ModalityAdmin(Modality, db, **names("Modalities", "modalities", "modalities", data)),
        ConditionAdmin(Condition, db, **names("Conditions", "conditions", "conditions", data)),
        InsurerAdmin(Insurer, db, **names("Insurers", "insurers", "insurers", data)),
        PaymentOptionAdmin(
            PaymentOption,
            db,
            **names("Payment options", "payment_options", "payment-options", data),
        ),
        UserAdmin(User, db, **names("Users", "users", "users", None)),
        MyListingsView(**names("My listings", "my_listings", "my-listings", clinic)),
        NewListingView(**names("Submit a new listing", "new_listing", "new-listing", clinic)),
        ClaimView(**names("Claim a listing", "claim", "claim", clinic)),
        SubmissionsView(**names("My submissions", "my_submissions", "submissions", clinic)),
    ]
