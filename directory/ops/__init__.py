"""Operations on a whole site: SQLite backups, and moving a site between databases."""
