from __future__ import annotations

import base64
import json

import pytest

from simulator import constants as C
from simulator.errors import DecryptError
from simulator.rand import SimRandom
from simulator.wire.seal import AesCipher, Sealer, canonical_json, open_body, sign

# docs/protocol.md#encryption test vectors
DOC_CIPHERTEXT = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="
SIG_VECTOR = "a5163a8efd9f7e4429d43fc314329ace7013c1fd8e7237b68a5c6b469d695004"


def test_documented_hello_world_vector_decrypts() -> None:
    assert AesCipher("test key").decrypt(DOC_CIPHERTEXT) == b"hello world"


def test_documented_signature_vector() -> None:
    body = b'{"encrypt":"' + DOC_CIPHERTEXT.encode() + b'"}'
    assert sign("1677254849", "533226633", "test key", body) == SIG_VECTOR


def test_encrypt_round_trip_and_layout() -> None:
    cipher = AesCipher("k")
    iv = bytes(range(16))
    b64 = cipher.encrypt("会议 ✓".encode(), iv)
    raw = base64.b64decode(b64)
    assert raw[:16] == iv and len(raw) % 16 == 0 and len(raw) >= 32
    assert cipher.decrypt(b64) == "会议 ✓".encode()


def test_encrypt_with_the_reused_context_equals_a_fresh_cipher_every_time() -> None:
    """``encrypt`` chains one long-lived CBC context; each result must equal a fresh ``Cipher(CBC(iv))``."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from simulator.wire.seal import aes_key

    cipher, rand = AesCipher("k"), SimRandom(7)
    for n in [0, 1, 15, 16, 17, 31, 32, 33, 500, 1024, 4099] * 3:
        plain, iv = rand.token_bytes(n), rand.token_bytes(16)
        padder = padding.PKCS7(128).padder()
        enc = Cipher(algorithms.AES(aes_key("k")), modes.CBC(iv)).encryptor()
        expected = iv + enc.update(padder.update(plain) + padder.finalize()) + enc.finalize()
        assert base64.b64decode(cipher.encrypt(plain, iv)) == expected


def test_block_aligned_plaintext_gets_a_full_padding_block() -> None:
    raw = base64.b64decode(AesCipher("k").encrypt(b"x" * 16, bytes(16)))
    assert len(raw) == 16 + 32


def test_wrong_key_is_a_padding_error() -> None:
    b64 = AesCipher("right").encrypt(b'{"a":1}', bytes(16))
    with pytest.raises(DecryptError):
        AesCipher("wrong").decrypt(b64)


@pytest.mark.parametrize("garbage", ["not base64!!", base64.b64encode(b"short").decode(), ""])
def test_garbage_ciphertext(garbage: str) -> None:
    with pytest.raises(DecryptError):
        AesCipher("k").decrypt(garbage)


def test_canonical_json_is_compact_and_keeps_non_ascii() -> None:
    assert canonical_json({"a": [1, 2], "t": "周会"}) == '{"a":[1,2],"t":"周会"}'.encode()


def test_sealer_signs_exactly_the_body_bytes() -> None:
    sealer = Sealer("secret", SimRandom(7))
    req = sealer.seal({"schema": "2.0", "t": "周会"}, timestamp=1700000000)
    assert req.headers[C.HEADER_TIMESTAMP] == "1700000000"
    assert req.headers[C.HEADER_NONCE].isdigit()
    assert req.headers[C.HEADER_SIGNATURE] == sign("1700000000", req.headers[C.HEADER_NONCE], "secret", req.body)
    assert req.headers["Content-Type"] == "application/json; charset=utf-8"
    outer = json.loads(req.body)
    assert list(outer) == ["encrypt"]
    assert open_body(req.body, "secret") == {"schema": "2.0", "t": "周会"}


def test_plaintext_mode_has_no_signature_headers() -> None:
    req = Sealer(None, SimRandom(7)).seal({"x": 1}, timestamp=1)
    assert req.body == b'{"x":1}'
    assert C.HEADER_SIGNATURE not in req.headers and C.HEADER_REQUEST_ID in req.headers


def test_same_seed_same_sealed_bytes() -> None:
    a = Sealer("k", SimRandom(3)).seal({"x": 1}, timestamp=5)
    b = Sealer("k", SimRandom(3)).seal({"x": 1}, timestamp=5)
    assert a.body == b.body and a.headers == b.headers


@pytest.mark.lark_sdk
def test_official_sdk_decrypts_our_ciphertext() -> None:
    from lark_oapi.core.utils.decryptor import AESCipher as LarkCipher

    ours = AesCipher("some key").encrypt("飞书 event".encode(), SimRandom(1).token_bytes(16))
    assert LarkCipher("some key").decrypt_str(ours) == "飞书 event"
