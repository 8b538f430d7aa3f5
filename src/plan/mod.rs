//! From a validated workflow to a DAG of steps.
