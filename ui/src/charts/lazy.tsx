// The charts load with the first screen that draws one: the charting library is most of the
// bundle, and the users table, where the app starts, needs none of it.
import { lazy, Suspense, type ComponentProps } from "react";

const LazyStackedBars = lazy(() => import("./StackedBars").then((m) => ({ default: m.StackedBars })));
const LazyBudgetChart = lazy(() => import("./BudgetChart").then((m) => ({ default: m.BudgetChart })));

function Loading() {
  return <div className="chart chart-loading" aria-busy="true" />;
}

export function StackedBars(props: ComponentProps<typeof LazyStackedBars>) {
  return (
    <Suspense fallback={<Loading />}>
      <LazyStackedBars {...props} />
    </Suspense>
  );
}

export function BudgetChart(props: ComponentProps<typeof LazyBudgetChart>) {
  return (
    <Suspense fallback={<Loading />}>
      <LazyBudgetChart {...props} />
    </Suspense>
  );
}
