"""Password hashes as other vendors store them, made by libraries nobody here wrote: Python's
bcrypt, passlib (PBKDF2-SHA256 and scrypt, in passlib's own string forms) and argon2-cffi
(Argon2id and Argon2i, with parameters other than Tessera's). Run by
crates/cli/tests/e2e/legacy_hashes.rs:

    python3 legacy_hashes.py PASSWORD

Prints one JSON object: scheme name -> hash of PASSWORD.
"""

import json
import sys

import argon2
import bcrypt
from passlib.hash import pbkdf2_sha256, scrypt


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    password = sys.argv[1]
    secret = password.encode("utf-8")
    hashes = {
        "bcrypt-2b": bcrypt.hashpw(secret, bcrypt.gensalt(rounds=10)).decode(),
        # PHP's crypt() writes $2y$ for the same algorithm.
        "bcrypt-2y": bcrypt.hashpw(secret, bcrypt.gensalt(rounds=10)).decode().replace("$2b$", "$2y$", 1),
        "bcrypt-2a": bcrypt.hashpw(secret, bcrypt.gensalt(rounds=10, prefix=b"2a")).decode(),
        "pbkdf2-sha256": pbkdf2_sha256.using(rounds=29000).hash(password),
        "scrypt": scrypt.using(rounds=14).hash(password),
        "argon2id": argon2.PasswordHasher(time_cost=3, memory_cost=32768, parallelism=2).hash(password),
        "argon2i": argon2.PasswordHasher(time_cost=2, memory_cost=16384, parallelism=1, type=argon2.Type.I).hash(password),
    }
    print(json.dumps(hashes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
