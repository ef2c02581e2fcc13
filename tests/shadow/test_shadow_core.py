"""Pure parts of the shadow package: capture format, mapping, normalise, diff, noise, audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest

import shadow
from shadow.analysis import analyze, endpoint_of, is_significant
from shadow.audit import SideScope, audit, parse_ledger
from shadow.capture import Exchange, RecordedRequest, SideResult, basic_auth, read_capture
from shadow.cli import main
from shadow.diff import compare, diff_values
from shadow.errors import CaptureFormatError, ShadowConfigError
from shadow.mapping import (
    IdMap,
    SideIdentity,
    api_key_of,
    derive_idempotency_key,
    id_regex,
    rewrite_request,
    scoped_order_id,
)
from shadow.normalize import (
    Rules,
    load_keys,
    load_rules,
    normalize_body,
    rules_from_mapping,
    rules_to_mapping,
)


def _result(status: int, body: object, **headers: str) -> SideResult:
    return SideResult(status=status, body=json.dumps(body),
                      headers={"content-type": "application/json", **headers})


class TestCapture:
    def test_minimal_lines_are_read(self, tmp_path: Path) -> None:
        """The hand-written form builds method, query, auth, idempotency and JSON body."""
        path = tmp_path / "c.jsonl"
        path.write_text(
            "# a comment\n\n"
            '{"path": "/v1/payments?order_id=o1", "api_key": "k"}\n'
            '{"method": "post", "path": "/v1/payments", "idempotency_key": "i1",'
            ' "body": {"amount": 5}, "as": "pay_A"}\n')
        first, second = read_capture(path)
        assert first.request.method == "GET"
        assert first.request.query == {"order_id": "o1"}
        assert first.request.headers["authorization"] == basic_auth("k")
        assert second.request.method == "POST"
        assert second.request.headers["idempotency-key"] == "i1"
        assert json.loads(second.request.body) == {"amount": 5}
        assert second.reference_body() == {"id": "pay_A"}

    def test_bad_line_names_file_and_line(self, tmp_path: Path) -> None:
        """A malformed line is rejected with its file and line number."""
        path = tmp_path / "bad.jsonl"
        path.write_text('{"path": "/ping"}\n{"method": "GET"}\n')
        with pytest.raises(CaptureFormatError, match=r"bad.jsonl:2: .*path"):
            read_capture(path)

    def test_round_trip(self, tmp_path: Path) -> None:
        """A full exchange survives writing and reading."""
        ex = Exchange("x1", 1.5, RecordedRequest("GET", "/ping"),
                      sides={"primary": SideResult(200, {}, "", 1.0),
                             "candidate": SideResult(skipped="write")})
        path = tmp_path / "c.jsonl"
        path.write_text(json.dumps(ex.to_json()) + "\n")
        [back] = read_capture(path)
        assert back.sides["candidate"].skipped == "write"
        assert back.sides["primary"].status == 200


class TestMapping:
    def test_learns_ids_in_parallel_walk(self) -> None:
        """Ids at the same place in both answers are mapped; other strings are not."""
        ids = IdMap()
        learned = ids.learn(
            {"id": "pay_a", "attempt_id": "att_a", "status": "ok", "data": [{"id": "re_a"}]},
            {"id": "pay_b", "attempt_id": "att_b", "status": "ok", "data": [{"id": "re_b"}]})
        assert learned == 3
        assert ids.rewrite_path("/v1/payments/pay_a/refunds") == "/v1/payments/pay_b/refunds"
        assert ids.rewrite_str("pay_unknown") == "pay_unknown"
        assert ids.get("re_a") == "re_b"

    def test_prefix_must_match(self) -> None:
        """A payment id is never mapped to a refund id."""
        ids = IdMap()
        assert ids.learn({"id": "pay_a"}, {"id": "re_b"}) == 0

    def test_rewrite_request_per_side(self) -> None:
        """Path, body ids, API key and idempotency key are rewritten for the side."""
        ids = IdMap()
        ids.learn({"id": "pay_a"}, {"id": "pay_b"})
        req = RecordedRequest("POST", "/v1/payments/pay_a/refunds", {},
                              {"authorization": basic_auth("k1"), "idempotency-key": "i1"},
                              json.dumps({"amount": 5, "payment_id": "pay_a"}))
        out = rewrite_request(req, SideIdentity("candidate", {"k1": "k2"}), ids)
        assert out.path == "/v1/payments/pay_b/refunds"
        assert json.loads(out.body)["payment_id"] == "pay_b"
        assert api_key_of(out.headers["authorization"]) == "k2"
        assert out.headers["idempotency-key"] == "i1:candidate"
        kept = rewrite_request(req, SideIdentity("primary", derive_keys=False), IdMap())
        assert kept.headers["idempotency-key"] == "i1"

    def test_long_idempotency_keys_stay_within_limit(self) -> None:
        """Derived keys never exceed the contract's 255 characters and stay distinct."""
        long = "k" * 255
        a, b = derive_idempotency_key(long, "candidate"), derive_idempotency_key(long, "secondary")
        assert len(a) <= 255
        assert a != b
        c, d = (derive_idempotency_key(long, "candidate", scope) for scope in ("r1", "r2"))
        assert len(c) <= 255
        assert len({a, c, d}) == 3

    def test_replay_scope_makes_keys_and_orders_new(self) -> None:
        """A replay's scope gives every side new idempotency keys and new order ids, per scope."""
        req = RecordedRequest("POST", "/v1/payments", {},
                              {"authorization": basic_auth("k1"), "idempotency-key": "i1"},
                              json.dumps({"order_id": "o-1", "amount": 5}))
        sent = {(side, scope): rewrite_request(req, SideIdentity(side, scope=scope), IdMap())
                for side in ("primary", "candidate") for scope in ("aa11", "bb22")}
        keys = {out.headers["idempotency-key"] for out in sent.values()}
        assert len(keys) == 4
        assert "i1" not in keys
        assert "i1:candidate" not in keys
        orders = {k: json.loads(out.body)["order_id"] for k, out in sent.items()}
        # Both sides of one replay see the same order id, so their answers compare equal.
        assert orders[("primary", "aa11")] == orders[("candidate", "aa11")] == "o-1-aa11"
        assert orders[("primary", "bb22")] == "o-1-bb22"
        listing = RecordedRequest("GET", "/v1/payments", {"order_id": "o-1"})
        assert rewrite_request(listing, SideIdentity("candidate", scope="aa11"),
                               IdMap()).query == {"order_id": "o-1-aa11"}
        unscoped = rewrite_request(req, SideIdentity("candidate"), IdMap())
        assert json.loads(unscoped.body)["order_id"] == "o-1"
        assert unscoped.headers["idempotency-key"] == "i1:candidate"

    def test_scoped_order_ids_stay_valid_or_stay_invalid(self) -> None:
        """A valid order id stays valid (and distinct) when scoped; an invalid one is untouched."""
        long_a, long_b = "a" * 63 + "1", "a" * 63 + "2"
        scoped = {scoped_order_id(o, "ff00") for o in (long_a, long_b)}
        assert len(scoped) == 2
        assert all(len(o) <= 64 and o.endswith("-ff00") for o in scoped)
        for bad in ("", "has space", "x" * 65, "ünï"):
            assert scoped_order_id(bad, "ff00") == bad
        body = json.dumps({"order_id": 7, "amount": 5})
        req = RecordedRequest("POST", "/v1/payments", body=body)
        assert rewrite_request(req, SideIdentity("candidate", scope="ff00"), IdMap()).body == body


class TestNormalizeAndDiff:
    def test_ids_timestamps_and_masked_paths(self) -> None:
        """Generated ids and timestamps are masked; masked paths keep null vs set."""
        rules = Rules()
        a = normalize_body(rules, {"id": "pay_1a", "created_at": "2026-01-01T00:00:00.123456Z",
                                   "gateway_txn_id": "T1", "msg": "payment pay_1a not found"})
        b = normalize_body(rules, {"id": "pay_2b", "created_at": "2026-02-02T10:00:00.000001Z",
                                   "gateway_txn_id": "T2", "msg": "payment pay_2b not found"})
        assert a == b
        c = normalize_body(rules, {"gateway_txn_id": None})
        assert diff_values(normalize_body(rules, {"gateway_txn_id": "T"}), c)

    def test_money_is_exact_and_typed(self) -> None:
        """100 vs 100.0 is a type difference, 100 vs 101 a change; money cannot be ignored."""
        assert [d.kind for d in diff_values({"amount": 100}, {"amount": 100.0})] == ["type"]
        assert [d.kind for d in diff_values({"amount": 100}, {"amount": 101})] == ["changed"]
        assert [d.kind for d in diff_values({"ok": True}, {"ok": 1})] == ["type"]
        with pytest.raises(ShadowConfigError, match="money"):
            Rules(ignore_paths=("/amount",))

    def test_field_kinds_and_paths(self) -> None:
        """Missing, extra and list paths are JSON Pointers; fields generalise indices."""
        diffs = diff_values({"a": 1, "l": [1, 2]}, {"b": 1, "l": [1]})
        got = {(d.path, d.kind) for d in diffs}
        assert got == {("/a", "missing"), ("/b", "extra"), ("/l/1", "missing")}
        assert next(d for d in diffs if d.path == "/l/1").field == "/l/*"

    def test_ignore_paths_with_wildcards(self) -> None:
        """'*' matches one segment and '**' any depth."""
        rules = Rules(ignore_paths=("/data/*/description", "/**/metadata"))
        body = {"data": [{"description": "x", "metadata": {"k": "v"}, "n": 1}]}
        assert normalize_body(rules, body) == {"data": [{"n": 1}]}

    def test_status_header_and_one_side_error(self) -> None:
        """Status codes, allow-listed headers and one-sided 5xx are differences."""
        rules = Rules()
        diffs = compare(rules, _result(201, {"a": 1}), _result(200, {"a": 1}))
        assert diffs is not None
        assert [d.path for d in diffs] == ["#status"]
        plain = SideResult(status=200, body="{}", headers={"content-type": "text/plain"})
        diffs = compare(rules, _result(200, {}), plain)
        assert diffs is not None
        assert [d.path for d in diffs] == ["#header/content-type"]
        diffs = compare(rules, _result(200, {}), SideResult(status=503, body="{}"))
        assert diffs is not None
        assert [d.kind for d in diffs] == ["error"]
        assert compare(rules, _result(200, {}), SideResult(error="ConnectionRefused"))
        assert compare(rules, _result(200, {}), SideResult(skipped="write")) is None
        both_down = compare(rules, SideResult(status=502), SideResult(status=502))
        assert both_down == []

    def test_rules_file(self, tmp_path: Path) -> None:
        """Rules and keys load from YAML; unknown keys and bad values are errors."""
        path = tmp_path / "rules.yaml"
        path.write_text("ignore_paths: [/description]\nthresholds: {relative: 50}\n")
        rules = load_rules(path)
        assert rules.ignore_paths == ("/description",)
        assert rules.relative_threshold == 50.0
        assert rules.absolute_threshold == 0.03
        with pytest.raises(ShadowConfigError, match="unknown"):
            rules_from_mapping({"ignore": []})
        with pytest.raises(ShadowConfigError, match="threshold"):
            rules_from_mapping({"thresholds": {"relative": "high"}})
        assert rules_from_mapping(rules_to_mapping(rules)) == rules
        keys = tmp_path / "keys.yaml"
        keys.write_text("candidate: {k1: k2}\n")
        assert load_keys(keys) == {"candidate": {"k1": "k2"}}
        keys.write_text("tertiary: {k1: k2}\n")
        with pytest.raises(ShadowConfigError, match="side"):
            load_keys(keys)


class TestNoise:
    def test_diffy_thresholds(self) -> None:
        """Real only when raw beats noise by 20% relative and 0.03% absolute."""
        assert is_significant(10, 0, 100, 20.0, 0.03)
        assert not is_significant(10, 10, 100, 20.0, 0.03)  # all noise
        assert not is_significant(11, 10, 100, 20.0, 0.03)  # 4.8% relative
        assert is_significant(20, 10, 100, 20.0, 0.03)  # 33% relative, 10% absolute
        assert not is_significant(2, 1, 10_000, 20.0, 0.03)  # 0.01% absolute
        assert not is_significant(0, 0, 100, 20.0, 0.03)

    def test_field_counted_as_noise_is_filtered(self) -> None:
        """A field differing as often between primary and secondary is not a mismatch."""
        exchanges = []
        for i in range(10):
            primary = _result(200, {"id": "pay_1", "v": i, "stable": 1})
            secondary = _result(200, {"id": "pay_2", "v": i + 100, "stable": 1})
            candidate = _result(200, {"id": "pay_3", "v": i + 200, "stable": 2 if i == 0 else 1})
            exchanges.append(Exchange(str(i), 0.0, RecordedRequest("GET", "/v1/payments/pay_1"),
                                      sides={"primary": primary, "secondary": secondary,
                                             "candidate": candidate}))
        analysis = analyze(exchanges, Rules())
        stats = analysis.endpoints["GET /v1/payments/{id}"]
        assert stats.fields["/v"].raw == stats.fields["/v"].noise == 10
        assert not stats.fields["/v"].significant
        assert stats.fields["/stable"].significant
        assert stats.real_mismatches == 1
        assert stats.noise_rate == 1.0

    def test_endpoint_template(self) -> None:
        """Ids in paths collapse so requests group by route."""
        pattern = id_regex(("pay", "re"))
        assert endpoint_of("POST", "/v1/payments/pay_x1/refunds", pattern) == (
            "POST /v1/payments/{id}/refunds")
        assert endpoint_of("GET", "/v1/refunds/re_9", pattern) == "GET /v1/refunds/{id}"


class TestAudit:
    LEDGER: ClassVar[list[dict[str, object]]] = [
        {"gateway": "juspay", "merchant_id": "p1", "order_id": "o1", "txn_id": "t1",
         "kind": "charge", "amount": 1000, "currency": "INR"},
        {"gateway": "juspay", "merchant_id": "p1", "order_id": "o1", "txn_id": "r1",
         "kind": "refund", "amount": "4.00", "currency": "INR"},
        {"gateway": "juspay", "merchant_id": "c1", "order_id": "o1", "txn_id": "t2",
         "kind": "charge", "amount": 1000, "currency": "INR"},
        {"gateway": "juspay", "merchant_id": "c1", "order_id": "o1", "txn_id": "t3",
         "kind": "charge", "amount": 1000, "currency": "INR"},
        {"gateway": "paytm", "merchant_id": "c1", "order_id": "o2", "txn_id": "t4",
         "kind": "charge", "amount": 500, "currency": "INR"},
        {"gateway": "paytm", "merchant_id": "c1", "order_id": "o2", "txn_id": "r2",
         "kind": "refund", "amount": 600, "currency": "INR"},
        {"gateway": "paytm", "merchant_id": "c1", "order_id": "o3", "txn_id": "t5",
         "kind": "charge", "amount": 10, "currency": "INR", "status": "failed"},
    ]

    def test_totals_and_flags(self) -> None:
        """Duplicate charge, over-refund, charge without payment and totals are reported."""
        entries = parse_ledger({"entries": self.LEDGER})
        assert len(entries) == 6  # the failed charge is no side effect
        assert entries[1].amount == 400  # decimal major units become minor units
        result = audit(entries, {
            "primary": SideScope(frozenset({"p1"}), {"o1": "o1"}),
            "candidate": SideScope(frozenset({"c1"}), {"o1": "o1"}),
        })
        assert result.sides["primary"].charges == {"INR": [1, 1000]}
        assert result.sides["candidate"].charges == {"INR": [3, 2500]}
        kinds = sorted((f.side, f.kind) for f in result.flags)
        assert kinds == [("candidate", "charge_without_payment"),
                         ("candidate", "duplicate_charge"), ("candidate", "over_refund"),
                         ("candidate", "totals_differ")]

    def test_clean_sides(self) -> None:
        """Identical, single charges per payment raise no flag."""
        entries = parse_ledger(self.LEDGER[:2])
        result = audit(entries, {"primary": SideScope(frozenset({"p1"}), {"o1": "o1"})})
        assert result.flags == []


class TestCliErrors:
    def test_bad_input_exits_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Missing files, bad URLs and bad rules give a message and exit code 2."""
        missing = str(tmp_path / "nope.jsonl")
        out = str(tmp_path / "out")
        assert main(["replay", missing, "--primary", "http://127.0.0.1:1",
                     "--candidate", "http://127.0.0.1:2", "--out", out]) == 2
        assert "cannot open capture" in capsys.readouterr().err
        assert main(["replay", missing, "--primary", "ftp://x", "--candidate",
                     "http://127.0.0.1:2", "--out", out]) == 2
        assert "not an http(s) URL" in capsys.readouterr().err
        assert main(["report", str(tmp_path)]) == 2
        assert "no exchanges.jsonl" in capsys.readouterr().err
        rules = tmp_path / "r.yaml"
        rules.write_text("- not a mapping\n")
        assert main(["diff", missing, "--rules", str(rules)]) == 2
        assert main(["frobnicate"]) == 2


def test_example_rules_file_is_the_default() -> None:
    """The documented example rules load and equal the built-in defaults."""
    example = Path(shadow.__file__).parent / "rules.example.yaml"
    assert load_rules(example) == Rules()
