import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/stores/-1/", "/api/nowhere/", "/api/orders/abc/"])
def test_unknown_api_address_is_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_unknown_page_is_not_json(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response.get("Content-Type", "").startswith("application/json")
