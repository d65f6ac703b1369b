"""Accounts of the studio's team: normalised names, bcrypt-hashed passwords, roles and who started which run."""
