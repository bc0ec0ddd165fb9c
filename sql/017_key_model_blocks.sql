-- Model-scoped key state (issue 20, docs/API.md "Model-scoped key state"):
-- a key rested for one model only, by a rule or script action with scope
-- "model".  The key stays active for every other model.  The model is the
-- one sent upstream, compared byte for byte (ascii_bin: "GPT-4" is not
-- "gpt-4"); until NULL means until enabled by hand.  Key events name the
-- model of such an action (NULL for key-wide changes).
CREATE TABLE IF NOT EXISTS key_model_blocks (
    key_id     BIGINT UNSIGNED NOT NULL,
    model      VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    kind       VARCHAR(16) NOT NULL,
    until      DATETIME(6) NULL,
    reason     VARCHAR(255) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (key_id, model),
    KEY ix_model_blocks_until (until),
    CONSTRAINT fk_model_blocks_key FOREIGN KEY (key_id) REFERENCES api_keys (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
ALTER TABLE key_events ADD COLUMN IF NOT EXISTS model VARCHAR(200) NULL;
