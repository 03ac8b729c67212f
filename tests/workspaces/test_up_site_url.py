"""`rapport up --port N` (and `make run PORT=N`): the links it hands out say N."""

from rapport.workspaces.management.commands.up import child_environment, site_url


def test_site_url_follows_the_port_when_unset():
    env = child_environment("127.0.0.1", 8123, environ={"PATH": "/bin"})
    assert env["SITE_URL"] == "http://127.0.0.1:8123"
    assert env["PORT"] == "8123" and env["PATH"] == "/bin"


def test_a_set_site_url_is_kept():
    env = child_environment("127.0.0.1", 8123, environ={"SITE_URL": "https://r.example.com"})
    assert env["SITE_URL"] == "https://r.example.com"


def test_a_wildcard_or_ipv6_host_gives_a_url_that_opens():
    assert site_url("0.0.0.0", 9000) == "http://127.0.0.1:9000"
    assert site_url("::1", 9000) == "http://[::1]:9000"
    assert site_url("localhost", 9000) == "http://localhost:9000"
