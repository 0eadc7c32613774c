"""Sign-in with an allow-list (``st.login``, OIDC), on when SIMLAB_ALLOWED_EMAILS is set."""
from __future__ import annotations

import streamlit as st

from indexing.core.settings import load_settings


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def require_access() -> None:
    """Stop the page unless sign-in is off, or the signed-in user is on the allow-list."""
    settings = load_settings()
    if not settings.allowed_emails:
        return
    if not _auth_configured():
        st.error("SIMLAB_ALLOWED_EMAILS is set but sign-in is not configured: add an [auth] section to "
                 ".streamlit/secrets.toml (README, “Running SimLab for a team”).")
        st.stop()
    if not st.user.get("is_logged_in", False):
        st.title("SimLab")
        st.info("Sign in to use this SimLab.")
        st.button("Sign in", on_click=st.login, key="access-login")
        st.stop()
    if not settings.allows(st.user.get("email")):
        st.error("This account is not on this SimLab's allow-list; ask whoever runs it to add you to "
                 "SIMLAB_ALLOWED_EMAILS.")
        st.text(st.user.get("email") or "(no email address from the identity provider)")
        st.button("Sign out", on_click=st.logout, key="access-logout")
        st.stop()
    with st.sidebar:
        st.caption("Signed in as")
        st.text(st.user.get("email"))
        st.button("Sign out", on_click=st.logout, key="access-logout")
