"""The password rules."""

from opsapp.accounts.passwords import MAX_LENGTH, MIN_LENGTH, password_problems


def test_a_long_unusual_passphrase_is_accepted():
    assert password_problems("tramonto sul Monviso 1841") == []


def test_length_limits():
    assert password_problems("a1b2c3d4e5f")  # 11 characters
    assert password_problems("a1b2c3d4e5f6") == []  # 12
    assert len("a1b2c3d4e5f6") == MIN_LENGTH
    assert password_problems("ab1" * 50)  # 150 > MAX_LENGTH
    assert MAX_LENGTH == 128


def test_common_and_repetitive_passwords_are_refused():
    assert password_problems("password1234")
    assert password_problems("aaaaaaaaaaaaaaaa")
    assert password_problems("abababababababab")


def test_the_e_mail_or_name_inside_the_password_is_refused():
    assert password_problems("giulia.ferrero-2027!", email="giulia.ferrero@example.eu")
    assert password_problems("Ferrero rocks 2027", name="Ferrero")
    assert password_problems("unrelated words 2027", email="giulia@example.eu", name="Giulia") == []
