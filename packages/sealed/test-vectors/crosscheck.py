"""Recomputes the composition vectors of src/vectors.test.ts with an independent implementation
(Python's hmac/hashlib and the `cryptography` package, plus HChaCha20 written out below), from
the constructions as docs/protocol.md states them. Run: python3 crosscheck.py (needs
`cryptography`, 44 or later for Argon2id). If it and the TypeScript disagree, one of them does
not follow the document. The recovery vectors at the end are those of src/recovery.test.ts."""

import base64
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def hkdf(ikm: bytes, info: bytes, n: int, salt: bytes = b"") -> bytes:
    prk = hmac.new(salt or b"\0" * 32, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out, i = out + t, i + 1
    return out[:n]


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    def rotl(v, c):
        return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))

    def qr(s, a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 7)

    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        qr(s, 0, 4, 8, 12); qr(s, 1, 5, 9, 13); qr(s, 2, 6, 10, 14); qr(s, 3, 7, 11, 15)
        qr(s, 0, 5, 10, 15); qr(s, 1, 6, 11, 12); qr(s, 2, 7, 8, 13); qr(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    subkey = hchacha20(key, nonce[:16])
    return ChaCha20Poly1305(subkey).encrypt(b"\0" * 4 + nonce[16:], plaintext, aad)


def var_uint(n: int) -> bytes:
    out = b""
    while n > 0x7F:
        out += bytes([0x80 | (n & 0x7F)])
        n >>= 7
    return out + bytes([n])


def raw(public_key) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def b64url(b: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(b).decode().rstrip("=")


# The draft's A.3.1 vector first, so the hand-written HChaCha20 is known to be right.
ladies = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
a31 = xchacha_seal(bytes(range(0x80, 0xA0)), bytes(range(0x40, 0x58)), ladies, bytes.fromhex("50515253c0c1c2c3c4c5c6c7"))
assert a31.hex().endswith("c0875924c1c7987947deafd8780acf49"), "HChaCha20 is wrong"

SPACE = "space_0123456789abcdef"
a_sign = Ed25519PrivateKey.from_private_bytes(b"\xa1" * 32)
b_sign = Ed25519PrivateKey.from_private_bytes(b"\xb1" * 32)
b_agree = X25519PrivateKey.from_private_bytes(b"\xb2" * 32)
a_sign_pub, b_sign_pub = raw(a_sign.public_key()), raw(b_sign.public_key())
a_agree_pub = raw(X25519PrivateKey.from_private_bytes(b"\xa2" * 32).public_key())
b_agree_pub = raw(b_agree.public_key())
print("A signing public  ", a_sign_pub.hex())
print("A agreement public", a_agree_pub.hex())

# Box: ephemeral secret 0xe1 x 32, nonce 0x4e x 24.
eph = X25519PrivateKey.from_private_bytes(b"\xe1" * 32)
eph_pub = raw(eph.public_key())
shared = eph.exchange(X25519PublicKey.from_public_bytes(b_agree_pub))
box_key = hkdf(shared, b"mend/v1/box" + eph_pub + b_agree_pub, 32)
box = eph_pub + b"\x4e" * 24 + xchacha_seal(box_key, b"\x4e" * 24, b"space key for epoch 2", b"")
print("box               ", box.hex())

# Invite: secret 0x5e x 32; welcome of epoch 1, space key 0x5c x 32, nonce 0x57 x 24.
secret = b"\x5e" * 32
print("invite code       ", b64url(hkdf(secret, b"mend/v1/invite-code", 16)))
welcome = bytes([1]) + var_uint(1) + b"\x5c" * 32 + a_sign_pub + a_agree_pub
welcome_box = b"\x57" * 24 + xchacha_seal(hkdf(secret, b"mend/v1/welcome", 32), b"\x57" * 24, welcome, b"")
print("welcome box       ", welcome_box.hex())

# Key box (converting a plaintext space): the same welcome payload boxed to B's agreement key,
# ephemeral secret 0xe3 x 32, nonce 0x4d x 24.
eph = X25519PrivateKey.from_private_bytes(b"\xe3" * 32)
eph_pub = raw(eph.public_key())
shared = eph.exchange(X25519PublicKey.from_public_bytes(b_agree_pub))
key_box_key = hkdf(shared, b"mend/v1/box" + eph_pub + b_agree_pub, 32)
key_box = eph_pub + b"\x4d" * 24 + xchacha_seal(key_box_key, b"\x4d" * 24, welcome, b"")
print("key box           ", key_box.hex())

# Envelope: A writes update 1 of stream 42 at epoch 1 ("hello"), nonce 0x6e x 24.
content_key = hkdf(b"\x5c" * 32, f"mend/v1/content/{SPACE}/1".encode(), 32)
header = bytes([1, 1]) + var_uint(len(SPACE)) + SPACE.encode() + var_uint(1) + a_sign_pub
header += var_uint(42) + var_uint(1) + b"\0" * 32
ciphertext = xchacha_seal(content_key, b"\x6e" * 24, b"hello", header)
signed = header + b"\x6e" * 24 + var_uint(len(ciphertext)) + ciphertext
envelope = signed + a_sign.sign(b"mend/v1/envelope\0" + hashlib.sha256(signed).digest())
print("envelope          ", envelope.hex())
print("envelope hash     ", hashlib.sha256(envelope).hexdigest())

# Safety code of A and B in this space.
first, second = sorted([a_sign_pub, b_sign_pub])
digest = hashlib.sha256(b"mend/v1/safety" + SPACE.encode() + first + second).digest()
groups = [int.from_bytes(digest[i : i + 5], "big") % 100000 for i in (0, 5)]
print("safety code       ", " ".join(f"{g:05d}" for g in groups))

# Answers revealed together: seat secret 0x5a x 32, nonce 0x7e x 24 (packages/sealed/src/reveal.ts).
REVEAL, ANSWER, PARTNER = "reveal_0123456789abc", "answer_0123456789abc", "partnerAAAAAAAAAAAAA"
answer_key = hkdf(b"\x5a" * 32, f"mend/v1/reveal-answer/{SPACE}/{REVEAL}/{ANSWER}".encode(), 32)
text = "I needed you to stay and talk. 🌱".encode()
padded = text + b"\x80" + b"\0" * (-(len(text) + 1) % 256)
aad = f"mend/v1/reveal-answer/{SPACE}/{REVEAL}/{ANSWER}/{PARTNER}".encode()
sealed_answer = b"\x7e" * 24 + xchacha_seal(answer_key, b"\x7e" * 24, padded, aad)
print("reveal answer key ", answer_key.hex())
print("reveal commitment ", hashlib.sha256(answer_key).hexdigest())
print("sealed answer len ", len(sealed_answer))
print("sealed answer hash", hashlib.sha256(sealed_answer).hexdigest())
print("sealed answer tail", sealed_answer[-32:].hex())

# A check-in kept private whole: seat secret 0x5a x 32, nonce 0x7e x 24 (packages/sealed/src/privateCheckin.ts).
DAY = "2026-11-02"
checkin_key = hkdf(b"\x5a" * 32, f"mend/v1/private-checkin/{SPACE}/{PARTNER}".encode(), 32)
plain = "3\nfreeze\nI could not sleep. 🌱".encode()
padded = plain + b"\x80" + b"\0" * (-(len(plain) + 1) % 256)
aad = f"mend/v1/private-checkin/{SPACE}/{PARTNER}/{DAY}/checkin".encode()
sealed_checkin = b"\x7e" * 24 + xchacha_seal(checkin_key, b"\x7e" * 24, padded, aad)
print("checkin key       ", checkin_key.hex())
print("sealed checkin len", len(sealed_checkin))
print("sealed checkin hash", hashlib.sha256(sealed_checkin).hexdigest())
print("sealed checkin tail", sealed_checkin[-32:].hex())

# Linking a device (docs/protocol.md, "Linking a device"): link secret 0x1e x 32; the link check
# for B's keys; the link box to B's agreement key (epochs 1 and 2, creator A, seat secret 0x5a x
# 32), ephemeral secret 0xe4 x 32, nonce 0x4c x 24.
link = b"\x1e" * 32
print("link code         ", b64url(hkdf(link, b"mend/v1/link-code", 16)))
check = int.from_bytes(hkdf(link, b"mend/v1/link-check" + b_sign_pub + b_agree_pub, 4), "big")
print("link check        ", f"{check % 1000000:06d}")
link_payload = bytes([1]) + var_uint(2) + var_uint(1) + b"\x5c" * 32 + var_uint(2) + b"\x5d" * 32
link_payload += a_sign_pub + b"\x5a" * 32
eph = X25519PrivateKey.from_private_bytes(b"\xe4" * 32)
eph_pub = raw(eph.public_key())
shared = eph.exchange(X25519PublicKey.from_public_bytes(b_agree_pub))
link_box_key = hkdf(shared, b"mend/v1/box" + eph_pub + b_agree_pub, 32)
link_box = eph_pub + b"\x4c" * 24 + xchacha_seal(link_box_key, b"\x4c" * 24, link_payload, b"")
print("link box          ", link_box.hex())

# Recovery kit (docs/protocol.md, "Recovery kit"): code c0de5eed...3210 in two spaces; the
# recovery device's keys and its signature over challenge AAECAwQFBgcICQoLDA0ODw. Argon2id is
# `cryptography`'s; the reference CLI gives the same m (src/recovery.test.ts).

code = bytes.fromhex("c0de5eed0123456789abcdeffedcba9876543210")
crockford = base64.b32encode(code).decode().translate(
    str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")
)
print("recovery code     ", "-".join(crockford[i : i + 4] for i in range(0, 32, 4)))
challenge = b64url(bytes(range(16)))
for space in (SPACE, "space_fedcba9876543210"):
    salt = ("mend/v1/recovery/" + space).encode()
    m = Argon2id(salt=salt, length=32, iterations=2, lanes=1, memory_cost=19456).derive(code)
    signing = Ed25519PrivateKey.from_private_bytes(hkdf(m, b"mend/v1/recovery-signing", 32))
    agreement = X25519PrivateKey.from_private_bytes(hkdf(m, b"mend/v1/recovery-agreement", 32))
    print("recovery in       ", space)
    print("  m               ", m.hex())
    print("  signing secret  ", hkdf(m, b"mend/v1/recovery-signing", 32).hex())
    print("  signing public  ", raw(signing.public_key()).hex())
    print("  agreement secret", hkdf(m, b"mend/v1/recovery-agreement", 32).hex())
    print("  agreement public", raw(agreement.public_key()).hex())
    signature = signing.sign(b"mend/v1/recover\0" + space.encode() + b"\0" + challenge.encode())
    print("  signature       ", signature.hex())

# Removing a device (docs/protocol.md, "Removing a device and new epochs"): the epoch box of epoch
# 2 (space key 0x5e x 32) to B's agreement key, ephemeral secret 0xe5 x 32, nonce 0x4d x 24.
epoch_payload = bytes([1]) + var_uint(len(SPACE)) + SPACE.encode() + var_uint(2) + b"\x5e" * 32
eph = X25519PrivateKey.from_private_bytes(b"\xe5" * 32)
eph_pub = raw(eph.public_key())
shared = eph.exchange(X25519PublicKey.from_public_bytes(b_agree_pub))
epoch_box_key = hkdf(shared, b"mend/v1/box" + eph_pub + b_agree_pub, 32)
epoch_box = eph_pub + b"\x4d" * 24 + xchacha_seal(epoch_box_key, b"\x4d" * 24, epoch_payload, b"")
print("epoch box         ", epoch_box.hex())
