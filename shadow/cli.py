"""``paybench shadow``: proxy, replay, diff, report and run.

Exit codes: 0 done (or mismatches found without ``--fail-on-mismatch``),
1 real mismatches or audit flags with ``--fail-on-mismatch`` (or a replay
aborted because a side kept failing), 2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from shadow.analysis import analyze
from shadow.capture import iter_capture
from shadow.errors import ShadowConfigError, ShadowError
from shadow.mapping import DEFAULT_ID_PREFIXES
from shadow.mirror import PollSettings
from shadow.normalize import Rules, load_keys, load_rules
from shadow.proxy import ProxySettings, build_app
from shadow.replay import ReplaySettings
from shadow.summary import build_summary, exit_code

USAGE_EXAMPLES = """examples:
  paybench shadow proxy --primary http://127.0.0.1:8001 --candidate http://127.0.0.1:8002 \\
      --listen 127.0.0.1:8080 --capture capture.jsonl --allow-writes --keys keys.yaml
  paybench shadow replay capture.jsonl --primary URL --candidate URL [--secondary URL] \\
      --rate 50 --allow-writes --out runs/shadow-1
  paybench shadow diff runs/shadow-1/exchanges.jsonl --rules rules.yaml
  paybench shadow report runs/shadow-1 --fail-on-mismatch
  paybench shadow run --payments 40 --aa --fail-on-mismatch
"""


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {value!r}")
    return value.rstrip("/")


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host or "127.0.0.1", int(port)


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return number


def _merchants(value: str) -> tuple[str, list[str]]:
    side, sep, ids = value.partition("=")
    if not sep or side not in ("primary", "secondary", "candidate") or not ids:
        raise argparse.ArgumentTypeError(f"expected SIDE=ID[,ID...], got {value!r}")
    return side, [i for i in ids.split(",") if i]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # exit 2 with the message, as argparse does
        raise ShadowConfigError(f"{self.prog}: {message}")


def _targets(p: argparse.ArgumentParser) -> None:
    p.add_argument("--primary", type=_url, required=True, help="primary (legacy) base URL")
    p.add_argument("--candidate", type=_url, required=True, help="candidate (engine) base URL")
    p.add_argument("--secondary", type=_url, help="a second primary instance, for A/A noise")
    p.add_argument("--allow-writes", action="store_true",
                   help="send POST/PUT/PATCH/DELETE to the shadow sides (separate state!)")
    p.add_argument("--keys", type=Path, help="YAML/JSON: side -> {capture API key: side key}")
    p.add_argument("--poll-timeout", type=_positive, default=10.0,
                   help="seconds to poll pending payments to a final state (default 10)")


def _rules_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rules", type=Path, help="normalisation rules (YAML/JSON)")
    p.add_argument("--fail-on-mismatch", action="store_true",
                   help="exit 1 when real mismatches or audit flags exist")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="paybench shadow", description=__doc__, epilog=USAGE_EXAMPLES,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("proxy", help="mirror live traffic: answer from primary, shadow the rest")
    _targets(p)
    p.add_argument("--listen", type=_listen, default=("127.0.0.1", 8080), help="HOST:PORT")
    p.add_argument("--capture", type=Path, required=True, help="JSONL file to write")
    p.add_argument("--lanes", type=int, default=4, help="concurrent mirror lanes")
    p.add_argument("--max-pending", type=int, default=1000,
                   help="mirror queue bound; beyond it copies are dropped and counted")

    p = sub.add_parser("replay", help="replay a capture against the sides, then report")
    p.add_argument("capture", type=Path)
    _targets(p)
    _rules_arg(p)
    p.add_argument("--rate", type=_positive, default=0.0,
                   help="requests per second in capture order (0 = as fast as possible)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--gateway-url", type=_url, help="simulator base URL, to audit its ledger")
    p.add_argument("--merchants", type=_merchants, action="append", default=[],
                   metavar="SIDE=ID,...", help="simulator merchant ids of a side (repeat)")

    p = sub.add_parser("diff", help="print the differences in an exchanges file")
    p.add_argument("exchanges", type=Path)
    _rules_arg(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")

    p = sub.add_parser("report", help="(re)write the report of a shadow output directory")
    p.add_argument("dir", type=Path)
    _rules_arg(p)

    p = sub.add_parser("run", help="start the stack, replay a mixed workload, audit, report")
    _rules_arg(p)
    p.add_argument("--capture", type=Path, help="capture to replay (default: generated)")
    p.add_argument("--payments", type=int, default=30, help="payments in the generated workload")
    p.add_argument("--aa", action=argparse.BooleanOptionalAction, default=True,
                   help="run legacy twice for an A/A noise pass (default on)")
    p.add_argument("--primary-target", default="legacy")
    p.add_argument("--candidate-target", default="engine")
    p.add_argument("--rate", type=_positive, default=0.0)
    p.add_argument("--label", default="shadow")
    p.add_argument("--runs-dir", type=Path, default=Path("runs"))
    p.add_argument("--gateway-profile", default="instant",
                   help="simulator profile (default instant: no latency or random fault); "
                        "fast and realistic draw their random outcomes from each request's "
                        "content, so every side meets the same ones")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--database-url")
    p.add_argument("--redis-url")
    p.add_argument("--poll-timeout", type=_positive, default=10.0)
    return parser


def _poll(args: argparse.Namespace) -> PollSettings:
    return PollSettings(timeout_s=args.poll_timeout)


def _rules(args: argparse.Namespace) -> Rules:
    return load_rules(args.rules)


def cmd_proxy(args: argparse.Namespace) -> int:
    host, port = args.listen
    settings = ProxySettings(
        primary=args.primary, candidate=args.candidate, secondary=args.secondary,
        capture=args.capture, host=host, port=port, allow_writes=args.allow_writes,
        keys=load_keys(args.keys), lanes=args.lanes, max_pending=args.max_pending,
        poll=_poll(args), id_prefixes=DEFAULT_ID_PREFIXES,
    )
    print(f"shadow proxy on http://{host}:{port} -> primary {args.primary}, "
          f"candidate {args.candidate}" + (f", secondary {args.secondary}" if args.secondary
                                           else "")
          + ("" if args.allow_writes else " (writes not mirrored)"), flush=True)
    web.run_app(build_app(settings), host=host, port=port, print=None, access_log=None)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    # the report loads pandas and matplotlib (reports): not for the proxy or diff
    from shadow import pipeline  # noqa: PLC0415 - pandas, for replay and report only

    rules = _rules(args)
    settings = ReplaySettings(
        primary=args.primary, candidate=args.candidate, secondary=args.secondary,
        rate=args.rate, allow_writes=args.allow_writes, keys=load_keys(args.keys),
        poll=_poll(args), id_prefixes=rules.id_prefixes,
    )
    stats = asyncio.run(pipeline.replay_to_dir(args.capture, settings, args.out))
    if args.gateway_url:
        if not args.merchants:
            raise ShadowConfigError("--gateway-url needs --merchants SIDE=ID,... to audit")
        pipeline.ledger_to_dir(args.gateway_url, args.out, dict(args.merchants))
    meta = {"capture": str(args.capture), "primary": args.primary,
            "candidate": args.candidate, "secondary": args.secondary or "-",
            "rate": args.rate or "max", "allow_writes": args.allow_writes}
    summary = pipeline.report_dir(args.out, rules, meta=meta)
    print(f"replayed {stats.recorded} requests in {stats.elapsed_s:.1f}s")
    return _finish(summary, args)


def cmd_diff(args: argparse.Namespace) -> int:
    summary = build_summary(analyze(iter_capture(args.exchanges), _rules(args)), None)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return _exit(summary, args)
    return _finish(summary, args)


def cmd_report(args: argparse.Namespace) -> int:
    from shadow import pipeline  # noqa: PLC0415 - pandas, as in cmd_replay

    # Without --rules, the directory is re-rendered with the rules it was reported with.
    rules = _rules(args) if args.rules else pipeline.saved_rules(args.dir)
    summary = pipeline.report_dir(args.dir, rules)
    return _finish(summary, args)


def cmd_run(args: argparse.Namespace) -> int:
    from shadow.stackrun import StackRunSettings, run_shadow  # noqa: PLC0415 - pandas, psycopg

    settings = StackRunSettings(
        runs_dir=args.runs_dir, label=args.label, capture=args.capture,
        payments=args.payments, aa=args.aa, primary_target=args.primary_target,
        candidate_target=args.candidate_target, rate=args.rate,
        gateway_profile=args.gateway_profile, workers=args.workers, seed=args.seed,
        database_url=args.database_url, redis_url=args.redis_url, poll=_poll(args),
    )
    out, summary = run_shadow(settings, _rules(args))
    print(f"run directory: {out}")
    return _finish(summary, args)


def _exit(summary: dict[str, Any], args: argparse.Namespace) -> int:
    return exit_code(summary, args.fail_on_mismatch)


def _finish(summary: dict[str, Any], args: argparse.Namespace) -> int:
    print(render_text(summary))
    return _exit(summary, args)


def render_text(summary: dict[str, Any]) -> str:
    """A terminal-sized summary: per endpoint, real fields, audit flags."""
    lines = [
        f"verdict: {summary['verdict'].upper()}  requests={summary['requests']} "
        f"compared={summary['compared']} skipped={summary['skipped']} "
        f"real_mismatches={summary['real_mismatches']} audit_flags={summary['audit_flags']}",
        f"{'endpoint':<42} {'req':>5} {'cmp':>5} {'real':>5} {'rate':>7} {'noise':>7}",
    ]
    for e in summary["endpoints"]:
        lines.append(f"{e['endpoint']:<42} {e['requests']:>5} {e['compared']:>5} "
                     f"{e['real_mismatches']:>5} {e['mismatch_rate']:>7.1%} "
                     f"{e['noise_rate']:>7.1%}")
    real = [f for f in summary["fields"] if f["significant"]]
    for f in real:
        lines.append(f"  real difference: {f['endpoint']} {f['path']} "
                     f"(raw {f['raw']}, noise {f['noise']})")
    for flag in (summary.get("audit") or {}).get("flags", []):
        lines.append(f"  audit: {flag['side']} {flag['kind']} {flag['merchant_id']} "
                     f"{flag['order_id']} {flag['detail']}")
    return "\n".join(lines)


COMMANDS = {"proxy": cmd_proxy, "replay": cmd_replay, "diff": cmd_diff,
            "report": cmd_report, "run": cmd_run}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``paybench shadow``; ``argv`` excludes the program name."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["shadow"]:
        args_list = args_list[1:]
    try:
        args = build_parser().parse_args(args_list)
        return COMMANDS[args.command](args)
    except ShadowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
