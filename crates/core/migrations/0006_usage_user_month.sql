-- Each user's spend per month, which the users table shows as "this month": a page of users
-- reads one row each from this small table (its current month stays in SQLite's page cache)
-- rather than a leaf of the usage index each, which in the encrypted file is a decryption and
-- an HMAC check per user. Kept exact by triggers. The cache writes usage rows with INSERT OR
-- REPLACE, whose deletion of the row it replaces fires no trigger: the row's old cost is taken
-- off before the insert instead.
CREATE TABLE usage_user_month (
    month TEXT NOT NULL,
    user_id TEXT NOT NULL,
    cost_micros INTEGER NOT NULL,
    PRIMARY KEY (month, user_id)
) WITHOUT ROWID;
INSERT INTO usage_user_month (month, user_id, cost_micros)
    SELECT substr(day, 1, 7), user_id, SUM(cost_micros) FROM usage_daily GROUP BY 1, 2;

CREATE TRIGGER usage_user_month_replaced BEFORE INSERT ON usage_daily BEGIN
    UPDATE usage_user_month
    SET cost_micros = cost_micros - (SELECT d.cost_micros FROM usage_daily d WHERE d.id = new.id)
    WHERE (month, user_id) = (SELECT substr(d.day, 1, 7), d.user_id FROM usage_daily d WHERE d.id = new.id);
END;
CREATE TRIGGER usage_user_month_inserted AFTER INSERT ON usage_daily BEGIN
    INSERT INTO usage_user_month (month, user_id, cost_micros)
    VALUES (substr(new.day, 1, 7), new.user_id, new.cost_micros)
    ON CONFLICT (month, user_id) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
END;
CREATE TRIGGER usage_user_month_updated AFTER UPDATE ON usage_daily BEGIN
    UPDATE usage_user_month SET cost_micros = cost_micros - old.cost_micros
    WHERE month = substr(old.day, 1, 7) AND user_id = old.user_id;
    INSERT INTO usage_user_month (month, user_id, cost_micros)
    VALUES (substr(new.day, 1, 7), new.user_id, new.cost_micros)
    ON CONFLICT (month, user_id) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
END;
CREATE TRIGGER usage_user_month_deleted AFTER DELETE ON usage_daily BEGIN
    UPDATE usage_user_month SET cost_micros = cost_micros - old.cost_micros
    WHERE month = substr(old.day, 1, 7) AND user_id = old.user_id;
END;
