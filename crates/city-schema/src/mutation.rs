//! Mutations for city staff: create, replace and delete units, plan items, targets and actuals.
//! Every mutation validates first and writes in one transaction; a refused mutation writes
//! nothing and answers `VALIDATION_FAILED` with the offending field.

use async_graphql::{Context, ID, Object, SimpleObject};
use model::EntityKind;

use crate::{
    error::{GqlResult, StoreResultExt},
    inputs::{ActualInput, PlanItemInput, TargetInput, UnitInput, local_id},
    types::{Actual, PlanItem, Target, Unit, gid, store},
};

/// 操作者 — Who the current request acts as (request data; the security layer sets it from the
/// caller's token). Without it writes are recorded as made by `anonymous`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

/// The store, with writes recorded as made by the request's [`Actor`].
fn writer(ctx: &Context<'_>) -> GqlResult<store::Store> {
    let actor = ctx
        .data_opt::<Actor>()
        .map_or("anonymous", |a| a.0.as_str());
    Ok(store(ctx)?.acting_as(actor))
}

/// 已删除 — What a delete removed.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(shareable)]
pub struct Deleted {
    /// 全局标识 — Global id of the deleted record.
    pub id: ID,
    /// 版本 — Its version when deleted.
    pub version: i32,
}

/// Root mutations.
#[derive(Debug, Default)]
pub struct Mutation;

/// Root mutations.
#[Object(shareable)]
impl Mutation {
    /// 新建单元 — Create a unit.
    async fn create_unit(&self, ctx: &Context<'_>, input: UnitInput) -> GqlResult<Unit> {
        let s = &writer(ctx)?;
        let row = s.create_unit(input.into_model(s.owner())?).await.gql()?;
        Ok(Unit(row, s.owner()))
    }

    /// 修改单元 — Replace a unit; pass `expectedVersion` to refuse if someone else wrote first.
    async fn update_unit(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UnitInput,
        expected_version: Option<i32>,
    ) -> GqlResult<Unit> {
        let s = &writer(ctx)?;
        let local = local_id("id", &id, EntityKind::Unit, s.owner())?;
        let row = s
            .update_unit(&local, input.into_model(s.owner())?, expected_version)
            .await
            .gql()?;
        Ok(Unit(row, s.owner()))
    }

    /// 删除单元 — Delete a unit that has no plan items, targets or actuals.
    async fn delete_unit(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
    ) -> GqlResult<Deleted> {
        let s = &writer(ctx)?;
        let local = local_id("id", &id, EntityKind::Unit, s.owner())?;
        let row = s.delete_unit(&local, expected_version).await.gql()?;
        Ok(Deleted {
            id: gid(EntityKind::Unit, s.owner(), &row.id),
            version: row.version,
        })
    }

    /// 新建计划项 — Create a plan item.
    async fn create_plan_item(
        &self,
        ctx: &Context<'_>,
        input: PlanItemInput,
    ) -> GqlResult<PlanItem> {
        let s = &writer(ctx)?;
        let row = s
            .create_plan_item(input.into_model(s.owner())?)
            .await
            .gql()?;
        Ok(PlanItem(row, s.owner()))
    }

    /// 修改计划项 — Replace a plan item.
    async fn update_plan_item(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: PlanItemInput,
        expected_version: Option<i32>,
    ) -> GqlResult<PlanItem> {
        let s = &writer(ctx)?;
        let local = local_id("id", &id, EntityKind::PlanItem, s.owner())?;
        let row = s
            .update_plan_item(&local, input.into_model(s.owner())?, expected_version)
            .await
            .gql()?;
        Ok(PlanItem(row, s.owner()))
    }

    /// 删除计划项 — Delete a plan item.
    async fn delete_plan_item(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
    ) -> GqlResult<Deleted> {
        let s = &writer(ctx)?;
        let local = local_id("id", &id, EntityKind::PlanItem, s.owner())?;
        let row = s.delete_plan_item(&local, expected_version).await.gql()?;
        Ok(Deleted {
            id: gid(EntityKind::PlanItem, s.owner(), &row.id),
            version: row.version,
        })
    }

    /// 新建目标 — Create a target.
    async fn create_target(&self, ctx: &Context<'_>, input: TargetInput) -> GqlResult<Target> {
        let s = &writer(ctx)?;
        let row = s.create_target(input.into_model(s.owner())?).await.gql()?;
        Ok(Target(row, s.owner()))
    }

    /// 修改目标 — Replace a target.
    async fn update_target(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: TargetInput,
        expected_version: Option<i32>,
    ) -> GqlResult<Target> {
        let s = &writer(ctx)?;
        let local = local_id("id", &id, EntityKind::Target, s.owner())?;
        let row = s
            .update_target(&local, input.into_model(s.owner())?, expected_version)
            .await
            .gql()?;
        Ok(Target(row, s.owner()))
    }

    /// 删除目标 — Delete a target.
    async fn delete_target(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
    ) -> GqlResult<Deleted> {
        let s = &writer(ctx)?;
        let local = local_id("id", &id, EntityKind::Target, s.owner())?;
        let row = s.delete_target(&local, expected_version).await.gql()?;
        Ok(Deleted {
            id: gid(EntityKind::Target, s.owner(), &row.id),
            version: row.version,
        })
    }

    /// 填报实绩 — Record an actual.
    async fn create_actual(&self, ctx: &Context<'_>, input: ActualInput) -> GqlResult<Actual> {
        let s = &writer(ctx)?;
        let row = s.create_actual(input.into_model(s.owner())?).await.gql()?;
        Ok(Actual(row, s.owner()))
    }

    /// 修改实绩 — Replace an actual.
    async fn update_actual(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ActualInput,
        expected_version: Option<i32>,
    ) -> GqlResult<Actual> {
        let s = &writer(ctx)?;
        let local = local_id("id", &id, EntityKind::Actual, s.owner())?;
        let row = s
            .update_actual(&local, input.into_model(s.owner())?, expected_version)
            .await
            .gql()?;
        Ok(Actual(row, s.owner()))
    }

    /// 删除实绩 — Delete an actual.
    async fn delete_actual(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
    ) -> GqlResult<Deleted> {
        let s = &writer(ctx)?;
        let local = local_id("id", &id, EntityKind::Actual, s.owner())?;
        let row = s.delete_actual(&local, expected_version).await.gql()?;
        Ok(Deleted {
            id: gid(EntityKind::Actual, s.owner(), &row.id),
            version: row.version,
        })
    }
}
