"""Sign-in with an allow-list: off by default; with SIMLAB_ALLOWED_EMAILS only listed accounts get in."""
from streamlit.testing.v1 import AppTest

from indexing.core.settings import load_settings
from tests.conftest import REPO

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s" * 32, "client_id": "simlab",
        "client_secret": "secret", "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}


def home(user: dict | None = None, auth: bool = True) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    if auth:
        at.secrets["auth"] = AUTH
    if user is not None:
        at.user = user
    return at.run()


def test_allow_list_matches_addresses_and_domains():
    settings = load_settings({"SIMLAB_ALLOWED_EMAILS": " Ann@Example.org, @team.example ,"})
    assert settings.allowed_emails == ("@team.example", "ann@example.org")
    assert settings.allows("ann@example.org") and settings.allows("BOB@team.example")
    assert not settings.allows("eve@example.org") and not settings.allows("eve@notteam.example.com")
    assert not settings.allows(None) and not settings.allows("")


def test_no_allow_list_means_no_sign_in(env):
    at = home({"is_logged_in": False})
    assert not at.exception and not any(b.label == "Sign in" for b in at.button) and at.metric


def test_signed_out_users_see_only_the_sign_in_button(env, monkeypatch):
    monkeypatch.setenv("SIMLAB_ALLOWED_EMAILS", "ann@example.org,@team.example")
    at = home({"is_logged_in": False})
    assert not at.exception and [b.label for b in at.button] == ["Sign in"] and not at.metric


def test_accounts_off_the_list_are_refused_listed_ones_get_in(env, monkeypatch):
    monkeypatch.setenv("SIMLAB_ALLOWED_EMAILS", "ann@example.org,@team.example")
    refused = home({"is_logged_in": True, "email": "eve@elsewhere.example"})
    assert not refused.exception and "not on this SimLab's allow-list" in refused.error[0].value
    assert not refused.metric and any(b.label == "Sign out" for b in refused.button)
    admitted = home({"is_logged_in": True, "email": "bob@team.example"})
    assert not admitted.exception and not admitted.error and admitted.metric
    assert "bob@team.example" in [t.value for t in admitted.sidebar.text]


def test_an_allow_list_without_auth_settings_says_what_to_add(env, monkeypatch):
    monkeypatch.setenv("SIMLAB_ALLOWED_EMAILS", "ann@example.org")
    at = home({"is_logged_in": True, "email": "ann@example.org"}, auth=False)
    assert not at.exception and "[auth] section" in at.error[0].value and not at.metric


def test_with_sign_in_the_annotator_is_the_signed_in_account_never_typed(env, monkeypatch, tiny_encoder):
    from indexing.shapes.demo import demo_plan
    from indexing.labels.label_store import LabelStore
    from indexing.lab import open_lab
    from indexing.query.specs import from_json

    monkeypatch.setenv("SIMLAB_ALLOWED_EMAILS", "@team.example")
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    lab.ingest(demo_plan(12, seed=2))
    labels = LabelStore(lab.settings.data_dir)
    labels.save_query("red", from_json({"type": "text", "text": "a red circle", "kind": "image"}), qid="q-red")
    at = AppTest.from_file(str(REPO / "pages" / "6_Label.py"), default_timeout=120)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": "bob@team.example"}
    at.query_params["annotator"] = "mallory"  # a name in the address does not override the account
    at.run()
    assert not at.exception
    assert not [t for t in at.text_input if t.key == "label-annotator"]  # nothing to type: no judging as anyone
    assert any(c.value.replace("\\", "") == "Judging as bob@team.example (signed in)" for c in at.caption)
    at.button(key="grade-2").click().run()
    assert [j.annotator for j in labels.judgments()] == ["bob@team.example"]
