-- A grant a group's manager gave one of the group's members: the group it was given through.
-- NULL for a grant given by someone who may grant anyone (policy.write), which a manager may
-- not take away. A grant given through a group goes when its holder leaves that group.
ALTER TABLE grants ADD COLUMN via_group TEXT;
