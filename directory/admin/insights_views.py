"""Insights in the admin: editors see every listing's counts summed by month; a
clinic sees its own listing's on the listing's page (`clinic_views`), both through
`templates/admin/directory/insights.html`."""

from __future__ import annotations

from flask_admin import BaseView, expose

from ..insights.reports import all_listings_months, listings_counted
from ..models.insights import COUNTED
from .access import StaffOnly


class InsightsView(StaffOnly, BaseView):
    """How often patients found and contacted listings, all listings together."""

    own_headings = True

    @expose("/")
    def index(self):
        return self.render(
            "admin/directory/insights.html",
            months=all_listings_months(),
            counted=COUNTED,
            clinic=None,
            listings_this_month=listings_counted(),
        )
