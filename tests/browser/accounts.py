"""Signing in through the real form, as every browser test that needs an account does."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.helpers import PASSWORD


def sign_in(page: Page, email: str) -> None:
    """Sign in as `email` (made with tests.helpers.make_user) and land on the admin."""
    page.goto("/account/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
