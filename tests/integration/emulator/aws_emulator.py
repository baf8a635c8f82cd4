#!/usr/bin/python3
"""logsift's local AWS emulator: CloudWatch Logs, SNS and CloudWatch PutMetricData on 127.0.0.1.

One threaded HTTP server speaking AWS's real wire formats (Logs JSON 1.1; SNS and CloudWatch Query;
CloudWatch's awsQueryCompatible JSON 1.0), with every request's SigV4 signature verified by botocore.
State lives in memory. Run with Debian's /usr/bin/python3 (it has python3-botocore):

    /usr/bin/python3 tests/integration/emulator/aws_emulator.py --port 0 --port-file /tmp/emu.port

Default test credentials (loaded unless --no-default-credentials; any region is accepted):
    AKIAEMULATORTEST0001 / emulator/test/secret/0001+wJalrXUtnFEMIK7MDENG        long-term key
    ASIAEMULATORSESSION1 / emulator/session/secret/0001
        session token emulator-session-token-valid                            valid session
    ASIAEMULATOREXPIRED1 / emulator/session/secret/0002
        session token emulator-session-token-expired                          always expired

More pairs: --credentials FILE, or LSF_EMU_CREDENTIALS (a file path or inline JSON), in the form
{"credentials": [{"accessKeyId": .., "secretAccessKey": .., "sessionToken": .., "expired": false,
"expiration": "2030-01-01T00:00:00Z"}]}; at run time through POST /_emulator/credentials.

Inspection and control (unsigned, JSON; see README.md): GET /_emulator/health, /_emulator/requests,
/_emulator/sns/messages, /_emulator/sns/topics, /_emulator/metrics, /_emulator/logs,
/_emulator/logs/events; POST /_emulator/reset, /_emulator/faults, /_emulator/quotas,
/_emulator/credentials, /_emulator/logs/events.
"""
import argparse
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sigv4_check  # noqa: E402
from server import Emulator, EmulatorServer  # noqa: E402


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    ap.add_argument("--credentials", help="JSON file with extra key pairs")
    ap.add_argument("--no-default-credentials", action="store_true")
    ap.add_argument("--account-id", default="123456789012")
    ap.add_argument("--max-skew-seconds", type=int, default=900,
                    help="reject signatures whose X-Amz-Date is further off than this (default 15 min)")
    ap.add_argument("--no-time-limits", action="store_true",
                    help="accept log events older than 14 days and metric timestamps outside "
                         "[-2 weeks, +2 hours] (AWS rejects them)")
    ap.add_argument("--aws-quotas", action="store_true",
                    help="throttle Logs reads at AWS's default TPS (FilterLogEvents 5, ...)")
    ap.add_argument("--sns-dedup-seconds", type=float, default=300.0,
                    help="FIFO deduplication window (AWS: 5 minutes)")
    ap.add_argument("--auto-create-topics", action="store_true",
                    help="Publish to an unknown topic ARN creates it instead of answering NotFound")
    ap.add_argument("--quiet", action="store_true", help="do not log each request to stderr")
    return ap.parse_args(argv)


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    creds = sigv4_check.load_store(opts.credentials, os.environ.get("LSF_EMU_CREDENTIALS"),
                                   not opts.no_default_credentials)
    emu = Emulator(opts, creds)
    server = EmulatorServer((opts.host, opts.port), emu)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.server_address[1]
    if opts.port_file:
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, opts.port_file)
    print(f"aws_emulator listening on http://{opts.host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
