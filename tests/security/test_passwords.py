"""Common passwords are refused: a list of thousands, their leet and 'word + digits' spellings, keyboard walks
and the person's own login ID or name; good passwords (long phrases, Hangul) still pass."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import builders as b
from volnet.accounts import passwords
from volnet.accounts.models import Invitation, User
from volnet.core import clock
from volnet.extensions import db

WEAK = ["abc12345", "qwerty12", "password!", "P@ssw0rd", "12345678a", "asdfasdf", "iloveyou1", "admin1234",
        "qwe12345", "zaq12wsx", "abcdefgh", "qwer1234", "1q2w3e4r!", "Qwer!@#$", "dragon2024", "sunshine99",
        "tkfkdgo12", "1qaz2wsx3edc", "abcabcabc", "baseball1", "michael1", "!@#$%^&*", "zxcvbnm,./"]
FINE = ["correct horse battery", "Tr0ub4dor&3", "마음이 따뜻한 하루", "송산동 가을 하늘", "blue-kettle-71",
        "gnsk3829fja", "xk29#mwq", "hanbitcare2026", "충분히 긴 비밀번호"]


def test_the_list_holds_thousands_and_stays_small():
    assert len(passwords.common()) > 5000
    assert passwords.LIST_FILE.stat().st_size < 100_000


@pytest.mark.parametrize("weak", WEAK)
def test_common_passwords_and_patterns_are_refused(weak):
    assert passwords.problem(weak, "caseworker2", "김순자") is not None, weak


@pytest.mark.parametrize("fine", FINE)
def test_good_passwords_pass(fine):
    assert passwords.problem(fine, "caseworker2", "김순자") is None, fine


def test_own_login_id_or_name_is_refused():
    assert passwords.problem("caseworker2!!", "caseworker2") is not None
    assert passwords.problem("김순자1234!", "sunja", "김순자") is not None
    assert passwords.problem("caseworker2 drinks green tea", "caseworker2") is None  # plenty more than the ID


def test_password_change_refuses_a_common_password_in_korean(app, client):
    u = b.user("caseworker", login_id="caseworker2")
    db.session.commit()
    b.login(client, u)
    for weak in ("abc12345", "zaq12wsx", "P@ssw0rd"):
        r = client.post("/account/password", data={"current_password": b.PASSWORD, "new_password": weak,
                                                   "confirm": weak})
        page = r.get_data(as_text=True)
        assert r.status_code == 200 and ("흔한 비밀번호" in page or "자판" in page), weak
        assert "비밀번호를 변경했습니다" not in page
    r = client.post("/account/password", data={"current_password": b.PASSWORD, "new_password": "caseworker2!!",
                                               "confirm": "caseworker2!!"})
    assert "로그인 ID나 이름" in r.get_data(as_text=True)


def test_join_refuses_a_password_made_of_the_name(app, client):
    token, h = Invitation.new_token()
    db.session.add(Invitation(token_hash=h, role="volunteer", max_uses=5, expires_at=clock.now() + timedelta(days=1)))
    db.session.commit()
    r = client.post(f"/account/join/{token}", data={"name": "서하늘", "login_id": "sky1",
                                                    "new_password": "서하늘12345", "confirm": "서하늘12345"})
    assert r.status_code == 200 and "로그인 ID나 이름" in r.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.login_id == "sky1")) is None


REPEAT_MESSAGE = "This password repeats the same part, so it is easy to guess. Choose another one."
REPEATS = ["abcabcabcabc", "사랑해사랑해사랑해", "사랑해 사랑해 사랑해", "hello!hello!", "xk29mwqxk29mwq", "abcabcabc1"]
WALKS = ["abcdefgh", "asdf1234qwer", "zxcvasdfqwer", "hjkl7890", "lkjhgfdsa1", "ijklmnop9"]  # not on the list


@pytest.mark.parametrize("repeated", REPEATS)
def test_a_repeated_part_is_refused_as_a_repeat_not_as_a_keyboard_pattern(repeated):
    msg = passwords.problem(repeated, "caseworker2", "김순자")
    assert msg is not None and str(msg) == REPEAT_MESSAGE, repeated


@pytest.mark.parametrize("walk", WALKS)
def test_keyboard_and_alphabet_walks_keep_their_message(walk):
    msg = passwords.problem(walk, "caseworker2", "김순자")
    assert msg is not None and "keyboard or alphabet pattern" in str(msg), walk


def test_password_change_says_a_repeated_phrase_repeats_itself_in_either_language(app, client):
    u = b.user("caseworker", login_id="caseworker2")
    db.session.commit()
    b.login(client, u)

    def refused(pw):
        r = client.post("/account/password", data={"current_password": b.PASSWORD, "new_password": pw,
                                                   "confirm": pw})
        assert r.status_code == 200
        return r.get_data(as_text=True)

    for pw in ("사랑해사랑해사랑해", "abcabcabcabc"):
        page = refused(pw)
        assert "같은 부분을 되풀이한 비밀번호는 쉽게 추측됩니다. 다른 비밀번호를 정하세요." in page, pw
        assert "자판" not in page and "비밀번호를 변경했습니다" not in page
    assert "자판이나 알파벳 순서를 따른 비밀번호" in refused("hjkl7890")
    client.post("/lang", data={"lang": "en"})
    page = refused("사랑해사랑해사랑해")
    assert REPEAT_MESSAGE in page and "keyboard" not in page
    assert "This password is a keyboard or alphabet pattern" in refused("zxcvasdfqwer")
