//! Building blocks shared by the pages: navigation, filters, KPI cards, problem notices,
//! the pipeline's task graph.

pub mod dag;
pub mod drill;
pub mod filters;
pub mod kpi;
pub mod nav;
pub mod notice;
