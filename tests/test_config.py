"""The shipped Streamlit configuration keeps the server's protections on."""
import tomllib

from benchmarks.servers import REPO


def test_xsrf_and_upload_limits_stay_on():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    server = config.get("server", {})
    assert server.get("enableXsrfProtection", True) is True and server.get("enableCORS", True) is True
    assert 0 < server["maxUploadSize"] <= 1000
