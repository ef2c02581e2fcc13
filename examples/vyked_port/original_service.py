"""Accounts: a small HTTP service in the style of a 2015 Vyked service.

Run: python <this file> [port]
"""

import json
import sys
import uuid

from aiohttp.web import Response
from vyked import Host, HTTPService, get, post


def _json(data, status=200):
    return Response(status=status, content_type="application/json", body=json.dumps(data).encode())


class AccountService(HTTPService):
    def __init__(self, host, port):
        super().__init__("AccountService", 1, host, port)
        self._accounts = {}

    @post(path="/accounts", required_params=["owner"])
    def create_account(self, request):
        account = {"id": uuid.uuid4().hex, "owner": request.GET["owner"], "balance": 0}
        self._accounts[account["id"]] = account
        return _json(account, status=201)

    @get(path="/accounts", required_params="owner")
    def find_accounts(self, request):
        owner = request.GET["owner"]
        found = [a for a in self._accounts.values() if a["owner"] == owner]
        return _json({"accounts": found})

    @get(path="/accounts/{account_id}")
    def get_account(self, request):
        account = self._accounts.get(request.match_info["account_id"])
        if account is None:
            return _json({"error": "Account not found"}, status=404)
        return _json(account)

    @post(path="/accounts/{account_id}/deposits")
    def deposit(self, request):
        account = self._accounts.get(request.match_info["account_id"])
        if account is None:
            return _json({"error": "Account not found"}, status=404)
        payload = yield from request.json()
        amount = payload.get("amount") if isinstance(payload, dict) else None
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return _json({"error": "amount must be a positive integer"}, status=400)
        account["balance"] += amount
        return _json(account)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 4501
    Host.configure("AccountService")
    Host.ronin = True
    Host.attach_http_service(AccountService("127.0.0.1", port))
    Host.run()
