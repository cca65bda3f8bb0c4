//! Output types. Each wraps a store row and the owning region, and maps it explicitly: the
//! GraphQL schema is a contract, so database columns never leak into it as they are.
//! Every type is `@shareable`: the hub's province subgraph serves the same types from its own
//! database, and Apollo composition needs that declared.

use async_graphql::{Context, ID, Object, SimpleObject};
use model::{EntityKind, GlobalId, RegionCode};
use store::{
    MeasureFilter, PageRequest, PlanItemFilter, Store, UnitFilter,
    entity::{
        actual, component, document, indicator, institution, plan_item, programme, target, unit,
    },
};

use crate::{
    connection::{ActualConnection, PlanItemConnection, TargetConnection, UnitConnection},
    enums::{self, parse_stored},
    error::{GqlResult, StoreResultExt},
    inputs::{MeasureFilterInput, PlanItemFilterInput, UnitFilterInput},
};

/// The store of this server, from the schema data.
pub(crate) fn store<'a>(ctx: &Context<'a>) -> GqlResult<&'a Store> {
    ctx.data::<Store>()
}

pub(crate) fn gid(kind: EntityKind, owner: RegionCode, local: &str) -> ID {
    ID(GlobalId::new(kind, owner, local).to_string())
}

fn year_of(yyyymm: i32) -> i32 {
    yyyymm / 100
}

fn source(doc: &Option<String>, quote: &Option<String>) -> Option<Source> {
    match (doc, quote) {
        (Some(d), Some(q)) => Some(Source {
            document_id: d.clone(),
            quote: q.clone(),
        }),
        _ => None,
    }
}

/// 行政区 — A region, by GB/T 2260 code.
#[derive(Debug, Clone)]
pub struct Region(pub &'static model::Region);

/// 行政区 — A region, by GB/T 2260 code.
#[Object(shareable)]
impl Region {
    /// 行政区划代码（GB/T 2260） — Six-digit administrative code.
    async fn code(&self) -> String {
        self.0.code.to_string()
    }
    /// 中文名称 — Chinese name.
    async fn name_zh(&self) -> &str {
        self.0.name_zh
    }
    /// 英文名称 — English name.
    async fn name_en(&self) -> &str {
        self.0.name_en
    }
    /// 行政级别 — Administrative level.
    async fn level(&self) -> enums::RegionLevel {
        self.0.level.into()
    }
    /// 上级行政区 — The parent region (none for the province).
    async fn parent(&self) -> Option<Region> {
        self.0.parent().and_then(model::region::region).map(Region)
    }
}

/// 出处 — Where a fact is stated: a document and the words quoted from it.
#[derive(Debug, Clone)]
pub struct Source {
    document_id: String,
    quote: String,
}

/// 出处 — Where a fact is stated: a document and the words quoted from it.
#[Object(shareable)]
impl Source {
    /// 引用原文 — The quoted words, verbatim.
    async fn quote(&self) -> &str {
        &self.quote
    }
    /// 来源文件 — The document.
    async fn document(&self, ctx: &Context<'_>) -> GqlResult<Option<Document>> {
        Ok(store(ctx)?
            .document(&self.document_id)
            .await
            .gql()?
            .map(Document))
    }
}

/// 来源文件 — A source document (a government file or bulletin).
#[derive(Debug, Clone)]
pub struct Document(pub document::Model);

/// 来源文件 — A source document (a government file or bulletin).
#[Object(shareable)]
impl Document {
    /// 文件标识 — Local id of the document.
    async fn id(&self) -> &str {
        &self.0.id
    }
    /// 文号 — Document number, e.g. 晋政发〔2018〕16号.
    async fn doc_number(&self) -> Option<&str> {
        self.0.doc_number.as_deref()
    }
    /// 标题 — Title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// 发文机关 — Issuing body.
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }
    /// 发文日期 — Date of issue (YYYY-MM-DD).
    async fn issued_on(&self) -> &str {
        &self.0.issued_on
    }
}

/// The change-log table of records of `kind`.
pub(crate) fn table_of(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Programme => "programme",
        EntityKind::Component => "component",
        EntityKind::Institution => "institution",
        EntityKind::Unit => "unit",
        EntityKind::PlanItem => "plan_item",
        EntityKind::Target => "target",
        EntityKind::Actual => "actual",
        EntityKind::Document => "document",
    }
}

fn kind_of(table: &str) -> Option<EntityKind> {
    EntityKind::ALL.into_iter().find(|k| table_of(*k) == table)
}

/// 拒绝记录 — One refused write attempt.
#[derive(Debug, Clone)]
pub struct RefusedWrite(pub store::entity::refusal::Model);

/// 拒绝记录 — One refused write attempt: who, when, what, why.
#[Object(shareable)]
impl RefusedWrite {
    /// 操作者 — Who tried (`anonymous` or `<role>:<sub>`).
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// 时间 — When, in milliseconds since the Unix epoch (as a string).
    async fn at_ms(&self) -> String {
        self.0.at_ms.to_string()
    }
    /// 操作 — The mutation (or `sync.push`).
    async fn operation(&self) -> &str {
        &self.0.operation
    }
    /// 对象 — Its arguments, abbreviated to 500 characters.
    async fn target(&self) -> &str {
        &self.0.target
    }
    /// 代码 — `UNAUTHENTICATED` or `FORBIDDEN`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// 原因 — Why it was refused.
    async fn message(&self) -> &str {
        &self.0.message
    }
}

/// 审计条目 — One accepted write: who, when, what, before and after.
#[derive(Debug, Clone)]
pub struct AuditEntry(pub store::changes::AuditEntry, pub RegionCode);

/// 审计条目 — One accepted write: who, when, what, before and after.
#[Object(shareable)]
impl AuditEntry {
    /// 序号 — The change's sequence number in this city (64-bit, as a string).
    async fn seq(&self) -> String {
        self.0.change.seq.to_string()
    }
    /// 表 — The table written (`unit`, `target`, `indicator` …).
    async fn entity(&self) -> &str {
        &self.0.change.entity
    }
    /// 记录 — Global id of the record (the bare key for catalogue rows).
    async fn record_id(&self) -> ID {
        match kind_of(&self.0.change.entity) {
            Some(k) => gid(k, self.1, &self.0.change.entity_id),
            None => ID(self.0.change.entity_id.clone()),
        }
    }
    /// 操作 — `upsert` or `delete`.
    async fn op(&self) -> &str {
        &self.0.change.op
    }
    /// 版本 — The record's version after the change.
    async fn version(&self) -> i32 {
        self.0.change.version
    }
    /// 操作者 — Who made it (`seed` for the seed import, `province` for catalogue updates).
    async fn actor(&self) -> Option<&str> {
        self.0.change.actor.as_deref()
    }
    /// 时间 — When, in milliseconds since the Unix epoch (as a string).
    async fn at_ms(&self) -> String {
        self.0.change.recorded_at_ms.to_string()
    }
    /// 变更前 — The record before, as JSON (null for a creation).
    async fn before(&self) -> Option<&str> {
        self.0.before.as_deref()
    }
    /// 变更后 — The record after, as JSON (null for a delete).
    async fn after(&self) -> Option<&str> {
        self.0.change.payload.as_deref()
    }
}

/// 指标 — A catalogue indicator: what can be counted, in which unit, and how values combine.
#[derive(Debug, Clone)]
pub struct Indicator(pub indicator::Model);

/// 指标 — A catalogue indicator: what can be counted, in which unit, and how values combine.
#[Object(shareable)]
impl Indicator {
    /// 指标代码 — Stable code, e.g. `beds_added`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// 中文名称 — Chinese name.
    async fn name_zh(&self) -> &str {
        &self.0.name_zh
    }
    /// 英文名称 — English name.
    async fn name_en(&self) -> &str {
        &self.0.name_en
    }
    /// 计量单位 — Unit of measure as written in the documents (张, 名, 万元, % …).
    async fn unit(&self) -> &str {
        &self.0.unit
    }
    /// 数值类型 — The kind of number.
    async fn value_type(&self) -> GqlResult<enums::ValueType> {
        Ok(parse_stored::<model::ValueType>("value_type", &self.0.value_type)?.into())
    }
    /// 汇总方式（跨年） — How values combine over time (`LATEST` for stocks such as total beds).
    async fn aggregation(&self) -> GqlResult<enums::Aggregation> {
        Ok(parse_stored::<model::Aggregation>("aggregation", &self.0.aggregation)?.into())
    }
    /// 汇总方式（跨范围） — How values combine across hospitals, units, components and cities,
    /// as the catalogue declares it.
    async fn aggregation_over_scopes(&self) -> GqlResult<enums::ScopeAggregation> {
        Ok(parse_stored::<model::ScopeAggregation>("over_scopes", &self.0.over_scopes)?.into())
    }
    /// 说明 — Description.
    async fn description_zh(&self) -> Option<&str> {
        self.0.description_zh.as_deref()
    }
    /// 组合公式 — For a composite indicator, how it is computed from other indicators (null
    /// for an indicator that is reported). A composite is never set or reported itself.
    async fn formula(&self) -> GqlResult<Option<IndicatorFormula>> {
        let formula = store::writes::formula_of(&self.0.code, self.0.formula.as_deref())
            .map_err(crate::error::from_store)?;
        Ok(formula.map(|f| IndicatorFormula::from(&f)))
    }
    /// 计数对象 — For an indicator that counts units of one kind (领军专科 → `SPECIALTY`):
    /// that kind. `compare` sets a programme's or component's target of it against the units
    /// named under it (`ProvinceGoal.named`).
    async fn counts_units(&self) -> GqlResult<Option<crate::enums::UnitKind>> {
        let Some(kind) = self.0.counts_units.as_deref() else {
            return Ok(None);
        };
        serde_json::from_value::<model::UnitKind>(serde_json::Value::String(kind.to_owned()))
            .map(|k| Some(k.into()))
            .map_err(|e| {
                tracing::warn!(indicator = %self.0.code, error = %e, "a stored indicator's unit kind cannot be read");
                crate::error::coded(crate::Code::Internal, "internal error")
            })
    }
}

/// 完成时限 — A time to reach a target, in whole years.
#[derive(SimpleObject, Debug, Clone, Copy)]
#[graphql(shareable)]
pub struct TargetDuration {
    /// 最少年数 — Fewest years.
    pub min_years: i32,
    /// 最多年数 — Most years (the same as `minYears` for one number).
    pub max_years: i32,
}

/// 阶段目标 — A level a unit should reach by a year.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(shareable)]
pub struct Milestone {
    /// 年份 — By the end of this year.
    pub year: i32,
    /// 水平 — The level, in the document's words.
    pub level: String,
}

impl From<model::Milestone> for Milestone {
    fn from(m: model::Milestone) -> Self {
        Self {
            year: m.year,
            level: m.level,
        }
    }
}

/// 年均进度 — An amount per year, as a range (the bounds meet when it is one number).
#[derive(SimpleObject, Debug, Clone, Copy)]
#[graphql(shareable)]
pub struct PaceRange {
    /// 下限 — Smallest.
    pub min: f64,
    /// 上限 — Largest.
    pub max: f64,
}

/// 组合公式 — How a composite indicator is computed, evaluated after each operand has been
/// combined by its own declaration (a ratio is the ratio of its combined parts, never an
/// average of ratios).
#[derive(SimpleObject, Debug, Clone)]
#[graphql(shareable)]
pub struct IndicatorFormula {
    /// 类型 — SUM, DIFFERENCE or RATIO.
    pub kind: enums::FormulaKind,
    /// 运算项 — The indicator codes it reads: a sum's terms; a difference's minuend then
    /// subtrahend; a ratio's numerator then denominator.
    pub operands: Vec<String>,
    /// 系数 — A ratio's factor (100 for a percentage); null otherwise.
    pub scale: Option<f64>,
    /// 表达式 — The formula written out, e.g. `a + b` or `a ÷ b × 100`.
    pub expression: String,
}

impl From<&model::Formula> for IndicatorFormula {
    fn from(f: &model::Formula) -> Self {
        let operands: Vec<String> = f.operands().iter().map(|(c, _)| (*c).to_owned()).collect();
        let (kind, scale, expression) = match f {
            model::Formula::Sum { terms } => (enums::FormulaKind::Sum, None, terms.join(" + ")),
            model::Formula::Difference {
                minuend,
                subtrahend,
            } => (
                enums::FormulaKind::Difference,
                None,
                format!("{minuend} − {subtrahend}"),
            ),
            model::Formula::Ratio {
                numerator,
                denominator,
                scale,
            } => (
                enums::FormulaKind::Ratio,
                Some(*scale),
                format!("{numerator} ÷ {denominator} × {scale}"),
            ),
        };
        Self {
            kind,
            operands,
            scale,
            expression,
        }
    }
}

/// 项目 — A programme issued by a document (the province's 136, a city's sub-programme).
#[derive(Debug, Clone)]
pub struct Programme(pub programme::Model, pub RegionCode);

/// 项目 — A programme issued by a document (the province's 136, a city's sub-programme).
#[Object(shareable)]
impl Programme {
    /// 全局标识 — Global id (`Programme:owner:local`).
    pub(crate) async fn id(&self) -> ID {
        gid(EntityKind::Programme, self.1, &self.0.id)
    }
    /// 所属行政区 — The region whose server owns this programme.
    async fn owner(&self) -> Option<Region> {
        model::region::region(self.1).map(Region)
    }
    /// 中文名称 — Chinese name.
    async fn name_zh(&self) -> &str {
        &self.0.name_zh
    }
    /// 英文名称 — English name.
    async fn name_en(&self) -> &str {
        &self.0.name_en
    }
    /// 发文机关 — Issuing body.
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }
    /// 文号 — Document number.
    async fn doc_number(&self) -> &str {
        &self.0.doc_number
    }
    /// 发文日期 — Date of issue (YYYY-MM-DD).
    async fn issued_on(&self) -> &str {
        &self.0.issued_on
    }
    /// 实施期 — The period it runs for, e.g. `2020..2022`.
    async fn period(&self) -> &str {
        &self.0.period
    }
    /// 起始年 — First year.
    async fn start_year(&self) -> i32 {
        year_of(self.0.period_start)
    }
    /// 终止年 — Last year.
    async fn end_year(&self) -> i32 {
        year_of(self.0.period_end)
    }
    /// 与上级项目的关系 — How it relates to `parentId` (承接 implements, 根据 follows).
    async fn relation(&self) -> GqlResult<Option<enums::Relation>> {
        self.0
            .relation
            .as_deref()
            .map(|r| parse_stored::<model::Relation>("relation", r).map(Into::into))
            .transpose()
    }
    /// 上级项目 — Global id of the parent programme (may be owned by another server).
    async fn parent_id(&self) -> Option<ID> {
        self.0.parent.clone().map(ID)
    }
    /// 中文摘要 — Summary in Chinese.
    async fn summary_zh(&self) -> Option<&str> {
        self.0.summary_zh.as_deref()
    }
    /// 英文摘要 — Summary in English.
    async fn summary_en(&self) -> Option<&str> {
        self.0.summary_en.as_deref()
    }
    /// 备注 — A note on the document's wording or a question it leaves open (e.g. an end
    /// year the document does not state).
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// 出处 — Where it is stated.
    async fn source(&self) -> Option<Source> {
        source(&self.0.source_document, &self.0.source_quote)
    }
    /// 版本 — Bumped on every write.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// 组成部分（顶层） — Top-level components; each lists its children.
    async fn components(&self, ctx: &Context<'_>) -> GqlResult<Vec<Component>> {
        let rows = store(ctx)?.components(&self.0.id, Some(None)).await.gql()?;
        Ok(rows.into_iter().map(|c| Component(c, self.1)).collect())
    }
    /// 全部组成部分 — Every component, flat, in tree order.
    async fn all_components(&self, ctx: &Context<'_>) -> GqlResult<Vec<Component>> {
        let rows = store(ctx)?.components(&self.0.id, None).await.gql()?;
        Ok(rows.into_iter().map(|c| Component(c, self.1)).collect())
    }
    /// 建设单元 — Units built under this programme.
    async fn units(
        &self,
        ctx: &Context<'_>,
        filter: Option<UnitFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<UnitConnection> {
        let mut f: UnitFilter = filter.unwrap_or_default().into_store(store(ctx)?.owner())?;
        f.programme = Some(self.0.id.clone());
        let page = store(ctx)?
            .units(&f, &PageRequest { first, after })
            .await
            .gql()?;
        Ok(UnitConnection::from_page(page, |u| Unit(u, self.1)))
    }
    /// 年度计划 — Yearly plan items of all its units.
    async fn plan_items(
        &self,
        ctx: &Context<'_>,
        filter: Option<PlanItemFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<PlanItemConnection> {
        let mut f: PlanItemFilter = filter.unwrap_or_default().into_store(store(ctx)?.owner())?;
        f.programme = Some(self.0.id.clone());
        let page = store(ctx)?
            .plan_items(&f, &PageRequest { first, after })
            .await
            .gql()?;
        Ok(PlanItemConnection::from_page(page, |p| PlanItem(p, self.1)))
    }
    /// 下级城市项目 — Programmes that implement or follow this one (承接 / 根据). At the hub: every
    /// city's, each answered by its node or the hub's replica of it as `consistency` says
    /// (default AUTO), with each city's freshness in the response's `extensions.freshness`;
    /// at a city node: this city's own (always current: `consistency` is ignored).
    async fn city_programmes(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] consistency: crate::enums::Consistency,
    ) -> GqlResult<Vec<crate::splice::Spliced<Programme>>> {
        let me = gid(EntityKind::Programme, self.1, &self.0.id).0;
        if let Some(src) = ctx.data_opt::<crate::splice::ImplementingSource>() {
            let answers = src.0.resolve(ctx, me, consistency).await?;
            return Ok(answers
                .into_iter()
                .map(crate::splice::Spliced::Remote)
                .collect());
        }
        let rows = store(ctx)?.programmes_implementing(&me).await.gql()?;
        Ok(rows
            .into_iter()
            .map(|p| crate::splice::Spliced::Local(Programme(p, self.1)))
            .collect())
    }
    /// 项目目标 — Targets set for the programme as a whole.
    async fn targets(
        &self,
        ctx: &Context<'_>,
        filter: Option<MeasureFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<TargetConnection> {
        scoped_targets(
            ctx,
            model::ScopeKind::Programme,
            &self.0.id,
            self.1,
            filter,
            first,
            after,
        )
        .await
    }
    /// 项目实绩 — Actuals reported for the programme as a whole.
    #[graphql(guard = "crate::access::Private")]
    async fn actuals(
        &self,
        ctx: &Context<'_>,
        filter: Option<MeasureFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ActualConnection> {
        scoped_actuals(
            ctx,
            model::ScopeKind::Programme,
            &self.0.id,
            self.1,
            filter,
            first,
            after,
        )
        .await
    }
}

pub(crate) async fn scoped_targets(
    ctx: &Context<'_>,
    kind: model::ScopeKind,
    id: &str,
    owner: RegionCode,
    filter: Option<MeasureFilterInput>,
    first: Option<i32>,
    after: Option<String>,
) -> GqlResult<TargetConnection> {
    let mut f: MeasureFilter = filter.unwrap_or_default().into_store(owner)?;
    f.scope = Some(model::Scope {
        kind,
        id: id.to_owned(),
    });
    let page = store(ctx)?
        .targets(&f, &PageRequest { first, after })
        .await
        .gql()?;
    Ok(TargetConnection::from_page(page, |t| Target(t, owner)))
}

pub(crate) async fn scoped_actuals(
    ctx: &Context<'_>,
    kind: model::ScopeKind,
    id: &str,
    owner: RegionCode,
    filter: Option<MeasureFilterInput>,
    first: Option<i32>,
    after: Option<String>,
) -> GqlResult<ActualConnection> {
    let mut f: MeasureFilter = filter.unwrap_or_default().into_store(owner)?;
    f.scope = Some(model::Scope {
        kind,
        id: id.to_owned(),
    });
    let page = store(ctx)?
        .actuals(&f, &PageRequest { first, after })
        .await
        .gql()?;
    Ok(ActualConnection::from_page(page, |a| Actual(a, owner)))
}

/// 组成部分 — A node of a programme's component tree (pillar, base project, strategy …).
#[derive(Debug, Clone)]
pub struct Component(pub component::Model, pub RegionCode);

/// 组成部分 — A node of a programme's component tree (pillar, base project, strategy …).
#[Object(shareable)]
impl Component {
    /// 全局标识 — Global id.
    pub(crate) async fn id(&self) -> ID {
        gid(EntityKind::Component, self.1, &self.0.id)
    }
    /// 类别 — What it is.
    async fn kind(&self) -> GqlResult<enums::ComponentKind> {
        Ok(parse_stored::<model::ComponentKind>("component kind", &self.0.kind)?.into())
    }
    /// 序号 — Position among its siblings, from 1.
    async fn ordinal(&self) -> i32 {
        self.0.ordinal
    }
    /// 中文名称 — Chinese name.
    async fn name_zh(&self) -> &str {
        &self.0.name_zh
    }
    /// 英文名称 — English name.
    async fn name_en(&self) -> &str {
        &self.0.name_en
    }
    /// 说明 — Description.
    async fn description_zh(&self) -> Option<&str> {
        self.0.description_zh.as_deref()
    }
    /// 出处 — Where it is stated.
    async fn source(&self) -> Option<Source> {
        source(&self.0.source_document, &self.0.source_quote)
    }
    /// 下级组成部分 — Child components.
    async fn children(&self, ctx: &Context<'_>) -> GqlResult<Vec<Component>> {
        let rows = store(ctx)?
            .components(&self.0.programme_id, Some(Some(&self.0.id)))
            .await
            .gql()?;
        Ok(rows.into_iter().map(|c| Component(c, self.1)).collect())
    }
    /// 所属项目 — The programme.
    async fn programme(&self, ctx: &Context<'_>) -> GqlResult<Option<Programme>> {
        Ok(store(ctx)?
            .programme(&self.0.programme_id)
            .await
            .gql()?
            .map(|p| Programme(p, self.1)))
    }
    /// 建设单元 — Units built under this component.
    async fn units(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<UnitConnection> {
        let f = UnitFilter {
            component: Some(self.0.id.clone()),
            ..UnitFilter::default()
        };
        let page = store(ctx)?
            .units(&f, &PageRequest { first, after })
            .await
            .gql()?;
        Ok(UnitConnection::from_page(page, |u| Unit(u, self.1)))
    }
    /// 目标 — Targets set for this component.
    async fn targets(
        &self,
        ctx: &Context<'_>,
        filter: Option<MeasureFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<TargetConnection> {
        scoped_targets(
            ctx,
            model::ScopeKind::Component,
            &self.0.id,
            self.1,
            filter,
            first,
            after,
        )
        .await
    }
}

/// 机构 — A hospital or institute.
#[derive(Debug, Clone)]
pub struct Institution(pub institution::Model, pub RegionCode);

/// 机构 — A hospital or institute.
#[Object(shareable)]
impl Institution {
    /// 全局标识 — Global id.
    pub(crate) async fn id(&self) -> ID {
        gid(EntityKind::Institution, self.1, &self.0.id)
    }
    /// 所在行政区 — The region it is in.
    async fn region(&self) -> Option<Region> {
        self.0
            .region
            .parse()
            .ok()
            .and_then(model::region::region)
            .map(Region)
    }
    /// 中文名称 — Chinese name.
    async fn name_zh(&self) -> &str {
        &self.0.name_zh
    }
    /// 英文名称 — English name.
    async fn name_en(&self) -> &str {
        &self.0.name_en
    }
    /// 别名 — Other names (e.g. 山医大二院).
    async fn aliases(&self) -> Vec<String> {
        serde_json::from_str(&self.0.aliases).unwrap_or_default()
    }
    /// 出处 — Where it is named.
    async fn source(&self) -> Option<Source> {
        source(&self.0.source_document, &self.0.source_quote)
    }
    /// 版本 — Bumped on every write.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// 建设单元 — Units at this institution.
    async fn units(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<UnitConnection> {
        let f = UnitFilter {
            institution: Some(self.0.id.clone()),
            ..UnitFilter::default()
        };
        let page = store(ctx)?
            .units(&f, &PageRequest { first, after })
            .await
            .gql()?;
        Ok(UnitConnection::from_page(page, |u| Unit(u, self.1)))
    }
    /// 机构目标 — Targets set for the institution.
    async fn targets(
        &self,
        ctx: &Context<'_>,
        filter: Option<MeasureFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<TargetConnection> {
        scoped_targets(
            ctx,
            model::ScopeKind::Institution,
            &self.0.id,
            self.1,
            filter,
            first,
            after,
        )
        .await
    }
    /// 机构实绩 — Actuals reported for the institution.
    #[graphql(guard = "crate::access::Private")]
    async fn actuals(
        &self,
        ctx: &Context<'_>,
        filter: Option<MeasureFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ActualConnection> {
        scoped_actuals(
            ctx,
            model::ScopeKind::Institution,
            &self.0.id,
            self.1,
            filter,
            first,
            after,
        )
        .await
    }
}

impl Unit {
    fn stored_milestones(&self) -> GqlResult<Vec<model::Milestone>> {
        store::writes::milestones_of(self.0.milestones.as_deref()).map_err(|e| {
            tracing::warn!(unit_id = %self.0.id, error = %e, "a stored unit's milestones cannot be read");
            crate::error::coded(crate::Code::Internal, "internal error")
        })
    }
}

/// 建设单元 — What a programme builds at an institution: a specialty, key lab, centre, team or workstation.
#[derive(Debug, Clone)]
pub struct Unit(pub unit::Model, pub RegionCode);

/// 建设单元 — What a programme builds at an institution: a specialty, key lab, centre, team or workstation.
#[Object(shareable)]
impl Unit {
    /// 全局标识 — Global id.
    pub(crate) async fn id(&self) -> ID {
        gid(EntityKind::Unit, self.1, &self.0.id)
    }
    /// 年度实绩表（CSV） — The unit's yearly actuals as a table (one row per indicator, one
    /// column per year), the shape `importUnitActuals` reads back. Periods shorter than a year
    /// are left out.
    #[graphql(guard = "crate::access::Private")]
    async fn actuals_csv(&self, ctx: &Context<'_>) -> GqlResult<String> {
        let s = store(ctx)?;
        let filter = MeasureFilter {
            scope: Some(model::Scope {
                kind: model::ScopeKind::Unit,
                id: self.0.id.clone(),
            }),
            ..MeasureFilter::default()
        };
        let mut rows = Vec::new();
        let mut after = None;
        loop {
            let page = s
                .actuals(
                    &filter,
                    &PageRequest {
                        first: Some(200),
                        after,
                    },
                )
                .await
                .gql()?;
            after = page.cursors.last().cloned();
            rows.extend(page.items);
            if !page.has_next_page {
                break;
            }
        }
        let catalogue = s.indicators().await.gql()?;
        Ok(crate::table::render(&rows, &catalogue).0)
    }
    /// 类别 — What kind of unit.
    async fn kind(&self) -> GqlResult<enums::UnitKind> {
        Ok(parse_stored::<model::UnitKind>("unit kind", &self.0.kind)?.into())
    }
    /// 中文名称 — Chinese name.
    async fn name_zh(&self) -> &str {
        &self.0.name_zh
    }
    /// 英文名称 — English name.
    async fn name_en(&self) -> &str {
        &self.0.name_en
    }
    /// 建设目标水平 — The level it aims for, in the document's words.
    async fn target_level(&self) -> Option<&str> {
        self.0.target_level.as_deref()
    }
    /// 目标年份 — The year by which it should reach that level.
    async fn target_year(&self) -> Option<i32> {
        self.0.target_year
    }
    /// 阶段目标 — The steps the document names on the way to `targetLevel`, in year order
    /// (「1年内全面开展中心工作,3年内达到省内领先,5年内达到全国知名水平」: the first two
    /// here; the last is `targetLevel` / `targetYear`).
    async fn milestones(&self) -> GqlResult<Vec<Milestone>> {
        Ok(self
            .stored_milestones()?
            .into_iter()
            .map(Milestone::from)
            .collect())
    }
    /// 应达水平 — The level the unit should have reached by the end of `year`: the latest
    /// milestone, or the target level, due in or before it. Null before the first.
    async fn level_by(&self, year: i32) -> GqlResult<Option<Milestone>> {
        let milestones = self.stored_milestones()?;
        let target = self.0.target_year.zip(self.0.target_level.as_deref());
        Ok(
            model::unit::level_by(&milestones, target, year).map(|(year, level)| Milestone {
                year,
                level: level.to_owned(),
            }),
        )
    }
    /// 备注 — A note on the document's wording or a question it leaves open.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// 出处 — Where it is stated.
    async fn source(&self) -> Option<Source> {
        source(&self.0.source_document, &self.0.source_quote)
    }
    /// 版本 — Bumped on every write.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// 所属项目 — The programme it is built under.
    async fn programme(&self, ctx: &Context<'_>) -> GqlResult<Option<Programme>> {
        Ok(store(ctx)?
            .programme(&self.0.programme_id)
            .await
            .gql()?
            .map(|p| Programme(p, self.1)))
    }
    /// 所属组成部分 — The component it belongs to.
    async fn component(&self, ctx: &Context<'_>) -> GqlResult<Option<Component>> {
        let Some(id) = &self.0.component_id else {
            return Ok(None);
        };
        Ok(store(ctx)?
            .component(id)
            .await
            .gql()?
            .map(|c| Component(c, self.1)))
    }
    /// 所在机构 — The institution.
    async fn institution(&self, ctx: &Context<'_>) -> GqlResult<Option<Institution>> {
        let Some(id) = &self.0.institution_id else {
            return Ok(None);
        };
        Ok(store(ctx)?
            .institution(id)
            .await
            .gql()?
            .map(|i| Institution(i, self.1)))
    }
    /// 年度计划 — Yearly plan items, by year and category.
    async fn plan_items(
        &self,
        ctx: &Context<'_>,
        filter: Option<PlanItemFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<PlanItemConnection> {
        let mut f: PlanItemFilter = filter.unwrap_or_default().into_store(self.1)?;
        f.unit = Some(self.0.id.clone());
        let page = store(ctx)?
            .plan_items(&f, &PageRequest { first, after })
            .await
            .gql()?;
        Ok(PlanItemConnection::from_page(page, |p| PlanItem(p, self.1)))
    }
    /// 目标 — Targets set for this unit.
    async fn targets(
        &self,
        ctx: &Context<'_>,
        filter: Option<MeasureFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<TargetConnection> {
        scoped_targets(
            ctx,
            model::ScopeKind::Unit,
            &self.0.id,
            self.1,
            filter,
            first,
            after,
        )
        .await
    }
    /// 实绩 — Actuals reported for this unit.
    #[graphql(guard = "crate::access::Private")]
    async fn actuals(
        &self,
        ctx: &Context<'_>,
        filter: Option<MeasureFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ActualConnection> {
        scoped_actuals(
            ctx,
            model::ScopeKind::Unit,
            &self.0.id,
            self.1,
            filter,
            first,
            after,
        )
        .await
    }
}

/// 年度计划项 — One cell of a unit's yearly task table, with the document's text kept verbatim.
#[derive(Debug, Clone)]
pub struct PlanItem(pub plan_item::Model, pub RegionCode);

/// 年度计划项 — One cell of a unit's yearly task table, with the document's text kept verbatim.
#[Object(shareable)]
impl PlanItem {
    /// 全局标识 — Global id.
    pub(crate) async fn id(&self) -> ID {
        gid(EntityKind::PlanItem, self.1, &self.0.id)
    }
    /// 期间 — The year, or the span where the document merges year columns.
    async fn period(&self) -> &str {
        &self.0.period
    }
    /// 年度 — The year, when the item covers exactly one.
    async fn year(&self) -> Option<i32> {
        let (s, e) = (self.0.period_start, self.0.period_end);
        (s / 100 == e / 100 && s % 100 == 1 && e % 100 == 12).then_some(s / 100)
    }
    /// 类别 — The table row.
    async fn category(&self) -> GqlResult<enums::PlanCategory> {
        Ok(model::PlanCategory::parse(&self.0.category)
            .ok_or_else(|| crate::error::coded(crate::Code::Internal, "internal error"))?
            .into())
    }
    /// 原文 — The cell's text, verbatim.
    async fn text(&self) -> &str {
        &self.0.text
    }
    /// 存疑 — True when the cell cannot be read without guessing (see `note`).
    async fn ambiguous(&self) -> bool {
        self.0.ambiguous
    }
    /// 备注 — Why it is ambiguous, or any remark.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// 出处 — Where it is stated.
    async fn source(&self) -> Option<Source> {
        source(&self.0.source_document, &self.0.source_quote)
    }
    /// 版本 — Bumped on every write.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// 所属单元 — The unit.
    async fn unit(&self, ctx: &Context<'_>) -> GqlResult<Option<Unit>> {
        Ok(store(ctx)?
            .unit(&self.0.unit_id)
            .await
            .gql()?
            .map(|u| Unit(u, self.1)))
    }
}

/// 范围 — What a target or actual is about.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(shareable)]
pub struct Scope {
    /// 类别 — What kind of thing.
    pub kind: enums::ScopeKind,
    /// 标识 — Its global id, or the region code for a region.
    pub id: ID,
}

fn scope_of(kind: &str, id: &str, owner: RegionCode) -> GqlResult<Scope> {
    let kind = model::ScopeKind::parse(kind)
        .ok_or_else(|| crate::error::coded(crate::Code::Internal, "internal error"))?;
    let id = match kind {
        model::ScopeKind::Region => ID(id.to_owned()),
        model::ScopeKind::Programme => gid(EntityKind::Programme, owner, id),
        model::ScopeKind::Component => gid(EntityKind::Component, owner, id),
        model::ScopeKind::Institution => gid(EntityKind::Institution, owner, id),
        model::ScopeKind::Unit => gid(EntityKind::Unit, owner, id),
    };
    Ok(Scope {
        kind: kind.into(),
        id,
    })
}

/// 目标 — A target value of an indicator for a scope and period, in the document's shape.
#[derive(Debug, Clone)]
pub struct Target(pub target::Model, pub RegionCode);

/// 目标 — A target value of an indicator for a scope and period, in the document's shape.
#[Object(shareable)]
impl Target {
    /// 全局标识 — Global id.
    pub(crate) async fn id(&self) -> ID {
        gid(EntityKind::Target, self.1, &self.0.id)
    }
    /// 指标代码 — Catalogue code.
    async fn indicator_code(&self) -> &str {
        &self.0.indicator
    }
    /// 指标 — The catalogue indicator.
    async fn indicator(&self, ctx: &Context<'_>) -> GqlResult<Option<Indicator>> {
        Ok(store(ctx)?
            .indicator(&self.0.indicator)
            .await
            .gql()?
            .map(Indicator))
    }
    /// 范围 — What it is about.
    async fn scope(&self) -> GqlResult<Scope> {
        scope_of(&self.0.scope_kind, &self.0.scope_id, self.1)
    }
    /// 期间 — By when: a year, or the span it covers.
    async fn period(&self) -> &str {
        &self.0.period
    }
    /// 取值方式 — How to read the number.
    async fn comparator(&self) -> GqlResult<enums::Comparator> {
        Ok(store::writes::comparator_of(&self.0).gql()?.into())
    }
    /// 数值 — The value (for every comparator but RANGE and UNKNOWN).
    async fn value(&self) -> Option<f64> {
        self.0.value
    }
    /// 下限 — Lower bound of a range.
    async fn min(&self) -> Option<f64> {
        self.0.min_value
    }
    /// 上限 — Upper bound of a range.
    async fn max(&self) -> Option<f64> {
        self.0.max_value
    }
    /// 计量单位 — Unit of measure as entered.
    async fn unit(&self) -> Option<&str> {
        self.0.unit.as_deref()
    }
    /// 限定词 — The document's hedge word, kept: 力争, 左右, 以上 …
    async fn qualifier(&self) -> Option<&str> {
        self.0.qualifier.as_deref()
    }
    /// 存疑 — True when the document cannot be read without guessing (see `note`).
    async fn ambiguous(&self) -> bool {
        self.0.ambiguous
    }
    /// 备注 — Why it is ambiguous, or any remark.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// 出处 — Where it is stated.
    async fn source(&self) -> Option<Source> {
        source(&self.0.source_document, &self.0.source_quote)
    }
    /// 发布表 — The published table this target is a row of (山西白求恩医院's 主要指标:
    /// `rmc-2020-2024-main-indicators`); ask for the whole table with
    /// `targets(filter: { table: … })` and order it by `tableRow`.
    async fn table(&self) -> Option<&str> {
        self.0.published_table.as_deref()
    }
    /// 表中行号 — Its row in that table, from 1, in the document's order.
    async fn table_row(&self) -> Option<i32> {
        self.0.table_row
    }
    /// 完成时限 — The time the document gives to reach it, in years (「通过 3—5 年努力」:
    /// 3 to 5), when it states one; the period is then the longest reading.
    async fn duration(&self) -> Option<TargetDuration> {
        let d = store::writes::duration_of(self.0.duration_min, self.0.duration_max).ok()??;
        Some(TargetDuration {
            min_years: d.min_years,
            max_years: d.max_years,
        })
    }
    /// 年均进度 — Pace: the amount to reach per year, `value ÷ years` where `years` is the
    /// `duration` when stated, else the years of `period`. A range when the value or the
    /// duration is one: `min` = smallest amount ÷ most years, `max` = largest amount ÷ fewest
    /// years. Null when the value is unknown.
    async fn pace_per_year(&self) -> Option<PaceRange> {
        let (lo_years, hi_years) =
            match store::writes::duration_of(self.0.duration_min, self.0.duration_max) {
                Ok(Some(d)) => (d.min_years, d.max_years),
                _ => {
                    let years = (self.0.period_end / 100) - (self.0.period_start / 100) + 1;
                    (years, years)
                }
            };
        let (lo, hi) = match (self.0.value, self.0.min_value, self.0.max_value) {
            (Some(v), _, _) => (v, v),
            (None, Some(lo), Some(hi)) => (lo, hi),
            _ => return None,
        };
        (lo_years >= 1 && hi_years >= 1).then(|| PaceRange {
            min: lo / f64::from(hi_years),
            max: hi / f64::from(lo_years),
        })
    }
    /// 多种读法 — When the document gives the amount over the period but leaves open which
    /// years it falls in: every way of reading it, each a split of `value` by year (empty for
    /// an ordinary target). `compare` shows each year as the interval over these readings.
    async fn readings(&self) -> GqlResult<Vec<Reading>> {
        let readings = store::writes::readings_of(self.0.readings.as_deref()).map_err(|e| {
            tracing::warn!(target_id = %self.0.id, error = %e, "a stored target's readings cannot be read");
            crate::error::coded(crate::Code::Internal, "internal error")
        })?;
        Ok(readings
            .into_iter()
            .map(|r| Reading {
                years: r
                    .years
                    .into_iter()
                    .map(|y| YearAmount {
                        year: y.year,
                        value: y.value,
                    })
                    .collect(),
            })
            .collect())
    }
    /// 版本 — Bumped on every write.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// 读法 — One way to read an amount whose years are open.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(shareable)]
pub struct Reading {
    /// 分年数额 — The amount per year, in year order (years not named get nothing).
    pub years: Vec<YearAmount>,
}

/// 年度数额 — Part of an amount falling in one year.
#[derive(SimpleObject, Debug, Clone, Copy)]
#[graphql(shareable)]
pub struct YearAmount {
    /// 年份 — The year.
    pub year: i32,
    /// 数额 — The amount.
    pub value: f64,
}

/// 实绩 — A reported value of an indicator for a scope and period.
#[derive(Debug, Clone)]
pub struct Actual(pub actual::Model, pub RegionCode);

/// 实绩 — A reported value of an indicator for a scope and period.
#[Object(shareable)]
impl Actual {
    /// 全局标识 — Global id.
    pub(crate) async fn id(&self) -> ID {
        gid(EntityKind::Actual, self.1, &self.0.id)
    }
    /// 指标代码 — Catalogue code.
    async fn indicator_code(&self) -> &str {
        &self.0.indicator
    }
    /// 指标 — The catalogue indicator.
    async fn indicator(&self, ctx: &Context<'_>) -> GqlResult<Option<Indicator>> {
        Ok(store(ctx)?
            .indicator(&self.0.indicator)
            .await
            .gql()?
            .map(Indicator))
    }
    /// 范围 — What it is about.
    async fn scope(&self) -> GqlResult<Scope> {
        scope_of(&self.0.scope_kind, &self.0.scope_id, self.1)
    }
    /// 期间 — The period it covers, e.g. `2019-01..2019-10`.
    async fn period(&self) -> &str {
        &self.0.period
    }
    /// 数值 — The value.
    async fn value(&self) -> f64 {
        self.0.value
    }
    /// 计量单位 — Unit of measure as entered.
    async fn unit(&self) -> Option<&str> {
        self.0.unit.as_deref()
    }
    /// 备注 — Any remark (e.g. how the period was read).
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// 出处 — Where it is stated.
    async fn source(&self) -> Option<Source> {
        source(&self.0.source_document, &self.0.source_quote)
    }
    /// 版本 — Bumped on every write.
    async fn version(&self) -> i32 {
        self.0.version
    }
}
