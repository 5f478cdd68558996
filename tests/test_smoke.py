def test_login_page_renders(client):
    """Does the login page render with a CSRF token and security headers?"""
    r = client.get("/login")
    assert r.status_code == 200
    assert b'name="csrf_token"' in r.data
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
