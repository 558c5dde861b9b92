// A group's own grants, limits and budget, edited from what the cache holds for it.
import { useQuery } from "@tanstack/react-query";
import { useBackend } from "../backend/backend";
import { QueryError } from "../shared/notices";
import { GrantList, LimitsAndBudget } from "../shared/policy";

export function PolicyEditors({ groupId }: { groupId: string }) {
  const backend = useBackend();
  const policy = useQuery({ queryKey: ["group-policy", groupId], queryFn: () => backend.groupPolicy(groupId) });
  const subject = { subject_kind: "group", subject_id: groupId } as const;
  if (policy.error) return <QueryError error={policy.error} />;
  if (!policy.data) return null;
  const { grants, limits, budget } = policy.data;
  return (
    <section className="detail-panel" aria-label="Access and limits">
      <GrantList
        subject={subject}
        writable
        empty="The group grants no model."
        granted={grants.map((model_id) => ({ model_id, own: true }))}
      />
      <LimitsAndBudget key={groupId} subject={subject} limits={limits} budget={budget} writable />
    </section>
  );
}
