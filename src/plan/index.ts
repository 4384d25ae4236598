/**
 * plan/: choose keep / copy / fetch for every target file (patches join in delta/).
 * @module
 */
export { type Inventory, type PlanInput, type PlanKind, type PlanOp, type UpdatePlan, chunksFor, inventoryOf, planUpdate } from './plan.js';
