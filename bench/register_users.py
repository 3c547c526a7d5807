#!/usr/bin/env python3
"""Registers bench users and prints one session token per line.

Usage: register_users.py BASE_URL EMAIL_PREFIX COUNT [PARALLEL]
Emails are EMAIL_PREFIX@example.com when COUNT is 1, else EMAIL_PREFIX<n>@example.com.
A few keep-alive connections register in parallel so the writer can batch the inserts.
Exits non-zero (with the server's answer) if any registration fails.
"""
import http.client
import json
import sys
import threading
import urllib.parse

PASSWORD = "bench-password-1"
TIMEOUT_S = 30


def register_range(base_url, emails, tokens, errors):
    url = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT_S)
    try:
        for index, email in emails:
            body = json.dumps({"email": email, "password": PASSWORD})
            conn.request("POST", "/api/v1/auth/register", body=body,
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            payload = response.read()
            if response.status != 201:
                errors.append(f"{email}: HTTP {response.status}: {payload[:300]!r}")
                return
            tokens[index] = json.loads(payload)["session"]["token"]
    except (OSError, http.client.HTTPException, KeyError, ValueError) as e:
        errors.append(f"{base_url}: {e!r}")
    finally:
        conn.close()


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    base_url, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    parallel = int(sys.argv[4]) if len(sys.argv) == 5 else 4
    if count < 1 or parallel < 1:
        sys.exit("COUNT and PARALLEL must be positive")
    emails = [(i, f"{prefix}@example.com" if count == 1 else f"{prefix}{i}@example.com")
              for i in range(count)]
    tokens = [None] * count
    errors = []
    workers = [threading.Thread(target=register_range,
                                args=(base_url, emails[w::parallel], tokens, errors))
               for w in range(min(parallel, count))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors or any(t is None for t in tokens):
        sys.exit("register_users: " + ("; ".join(errors[:5]) or "some registrations missing"))
    sys.stdout.write("".join(t + "\n" for t in tokens))


if __name__ == "__main__":
    main()
