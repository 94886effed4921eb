"""Account pages. Thin: parse the form, call `services`, render or redirect.

Statuses: 400 for a form that cannot be accepted (including wrong credentials),
429 when a rate limit applies, 400 for a bad or expired link. Sign-up, sign-in
and reset answer identically whether or not an account exists.

Unverified accounts may sign in: they need a session to ask for a new link, and
what they can do is limited by role checks elsewhere. They see a reminder with a
"send a new link" button on their account page (and on every page once
`account/_verify_banner.html` is included by base.html).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError

from . import bp, services, tokens
from .forms import ActionForm, ResetPasswordForm, ResetRequestForm, SignInForm, SignUpForm

AFTER_SIGN_IN = "/admin/"
SIGN_IN_FAILED = "Email or password is incorrect."
SIGN_IN_LIMITED = "Too many attempts. Wait 15 minutes and try again."
LINK_PROBLEMS = {
    "expired": "This link has expired.",
    "invalid": "This link is not valid. It may have been changed, or already used.",
}


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirects).

    Beyond "no host": browsers read `/\\evil.example` as `//evil.example` and drop
    tabs and newlines, so backslashes and control characters are refused too.
    """
    if not target or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _client_address() -> str:
    """The address limits count against (behind a reverse proxy: set TRUSTED_PROXIES)."""
    return request.remote_addr or "unknown"


def _page(template: str, status: int = 200, **context) -> Response:
    return make_response(render_template(template, **context), status)


def _form_page(template: str, form: FlaskForm, status: int, error: str | None = None) -> Response:
    response = _page(template, status, form=form, error=error)
    if status == 429:
        response.headers["Retry-After"] = str(int(services.SIGN_IN_WINDOW.total_seconds()))
    return response


def _link_problem(purpose: str, message: str) -> Response:
    """400: why a mailed link cannot be used and how to get another; `purpose` is
    "verify" or "reset". Only the verify page has a form ("Send me a new link"), so
    only it makes a CSRF token."""
    forms = {"action_form": ActionForm()} if purpose == "verify" else {}
    return _page("account/link_problem.html", 400, message=message, purpose=purpose, **forms)


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """Your account: who you are signed in as, and whether your email is confirmed."""
    return _page("account/index.html", action_form=ActionForm())


@bp.route("/sign-up", methods=["GET", "POST"])
def sign_up() -> ResponseReturnValue:
    """Create a clinic account; the answer never says whether the address was taken."""
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    form = SignUpForm()
    if request.method == "GET":
        return _form_page("account/sign_up.html", form, 200)
    if not form.validate_on_submit():
        return _form_page("account/sign_up.html", form, 400)
    try:
        services.sign_up(form.email.data, form.password.data, _client_address())
    except services.RateLimited as exc:
        return _form_page("account/sign_up.html", form, 429, exc.message)
    return _page("account/check_email.html", email=form.email.data)


@bp.get("/verify/<token>")
def verify_email(token: str) -> ResponseReturnValue:
    """Confirm an address from the mailed link; a bad link says why and how to get another."""
    check = services.verify_email(token)
    if check.user is None:
        return _link_problem("verify", LINK_PROBLEMS[check.problem or "invalid"])
    return _page("account/verified.html")


@bp.post("/verify/resend")
@login_required
def resend_verification() -> ResponseReturnValue:
    """Mail a new verification link to the signed-in user."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for("account.index"))
    user = current_user._get_current_object()
    if user.is_verified:
        flash("Your email address is already confirmed.", "info")
    elif services.resend_verification(user):
        flash(f"We sent a new link to {user.email}. It works for 3 days.", "success")
    else:
        flash(
            "We could not send another link just now. Check your inbox and spam folder "
            "for the links we already sent, or try again in an hour.",
            "warning",
        )
    return redirect(url_for("account.index"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """Sign in. Every failure gets one message; repeated failures get 429 for 15 minutes."""
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if current_user.is_authenticated:
            return redirect(safe_next(form.next.data) or AFTER_SIGN_IN)
        return _form_page("account/sign_in.html", form, 200)
    if not form.validate_on_submit():
        return _form_page("account/sign_in.html", form, 400)
    result = services.authenticate(form.email.data, form.password.data, _client_address())
    if result.limited:
        return _form_page("account/sign_in.html", form, 429, SIGN_IN_LIMITED)
    if result.user is None:
        return _form_page("account/sign_in.html", form, 400, SIGN_IN_FAILED)
    target = safe_next(form.next.data) or AFTER_SIGN_IN
    session.clear()  # nothing from before sign-in carries over (session fixation)
    login_user(result.user)
    return redirect(target)


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """Sign out (POST with a CSRF token, so another site cannot sign you out).

    The session ends on the server too (`end_sessions`): a copy of the cookie
    taken before this point no longer signs anyone in.
    """
    if current_user.is_authenticated:
        services.end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("account.sign_in"))


@bp.route("/reset", methods=["GET", "POST"])
def reset_request() -> ResponseReturnValue:
    """Ask for a reset link; the answer is the same whether or not the account exists."""
    form = ResetRequestForm()
    if request.method == "GET":
        return _form_page("account/reset_request.html", form, 200)
    if not form.validate_on_submit():
        return _form_page("account/reset_request.html", form, 400)
    try:
        services.request_password_reset(form.email.data, _client_address())
    except services.RateLimited as exc:
        return _form_page("account/reset_request.html", form, 429, exc.message)
    return _page("account/reset_sent.html", email=form.email.data)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    """Choose a new password from a mailed link, which works once and for one hour."""
    check = tokens.check_reset_token(token)
    if check.user is None:
        return _link_problem("reset", LINK_PROBLEMS[check.problem or "invalid"])
    form = ResetPasswordForm(email=check.user.email)
    if request.method == "GET":
        return _form_page("account/reset_password.html", form, 200)
    if not form.validate_on_submit():
        return _form_page("account/reset_password.html", form, 400)
    try:
        services.reset_password(token, form.password.data)
    except services.AccountError as exc:  # the link died between GET and POST
        return _link_problem("reset", exc.message)
    logout_user()
    session.clear()
    flash("Your password has changed. Sign in with your new password.", "success")
    return redirect(url_for("account.sign_in"))


@bp.errorhandler(CSRFError)
def form_expired(error: CSRFError) -> ResponseReturnValue:
    """A form older than the CSRF token (or sent from elsewhere): say what to do."""
    retry = request.path if request.endpoint not in _POST_ONLY else url_for("account.index")
    return _page("account/form_expired.html", 400, retry=retry)


_POST_ONLY = {"account.sign_out", "account.resend_verification"}
