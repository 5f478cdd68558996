"""The demo organisation's controlled documents: a small, realistic document system.

A quality manual, procedures with their forms, work instructions and a service standard,
mostly in Chinese with a few in English, each with a real .docx per revision. Everything is
created through ``app.documents.services`` exactly as a person would do it in the UI:
registered, drafted, submitted, reviewed and approved with the demo users' electronic
signatures (their password is ``app.demo.DEMO_PASSWORD``), so every document has a genuine
audit trail and signatures over its real file hash.

The revisions are left in every state a screen can show: effective, superseded (A/0 → A/1,
and a major change to B/0), in review (waiting for ``cs_head`` to review, and for
``approver`` to approve), a draft being written by ``author``, a draft rejected with the
reviewer's comment, a cancelled draft, an approved revision becoming effective in ten days,
a withdrawn (obsolete) document, a periodic review overdue, one due soon, and one confirmed.

Dates are relative to ``local_today()``. An effective revision's *effective date* is set in
the past by passing ``today=`` to ``approve`` (the service's own parameter), so the master
list and the review-due dates look like a system in use for two years; the time stamps of
signatures and audit events are the real seeding time (the trail cannot be backdated).

Idempotent: a document is looked up by type and title, and skipped when it exists.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

# python-docx is used directly here rather than through app.docx_io (STYLE rule 11): the
# adapter only builds the empty type template, and these rich demo bodies (headings, numbered
# steps, tables) are needed by nothing but the demo. The bytes still go through
# app.uploads.check_upload, so text and page count come from the adapter as for any upload.
import docx
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo import DEMO_PASSWORD
from app.documents import services
from app.documents.models import Document, DocumentType
from app.extensions import local_today
from app.people.models import Department, User
from app.storage import FileStore
from app.uploads import check_upload

# A real upload is limited by QDMS_MAX_UPLOAD_MB (50 MB by default); the demo files are a
# few tens of kilobytes, so the default limit is applied without needing the app config.
MAX_BYTES = 50 * 1024 * 1024

# Body blocks: a str is a paragraph; ("h", text) a heading; ("steps", prefix, items) numbered
# steps written "4.1 …" as Chinese procedures number them; ("bullets", items); ("table", rows)
# with the first row as the header.
Block = str | tuple

PURPOSE = "1 目的 Purpose"
SCOPE = "2 适用范围 Scope"
DUTIES = "3 职责 Responsibilities"
PROCEDURE = "4 工作程序 Procedure"
REFERENCES = "5 相关文件 References"
RECORDS = "6 记录 Records"


def outline(purpose, scope, duties, procedure, references, records) -> tuple[Block, ...]:
    """The house outline (docx_io.OUTLINE): six numbered sections, each a list of blocks."""
    out: list[Block] = []
    for heading, blocks in zip(
        (PURPOSE, SCOPE, DUTIES, PROCEDURE, REFERENCES, RECORDS),
        (purpose, scope, duties, procedure, references, records),
        strict=True,
    ):
        out.append(("h", heading))
        out.extend([blocks] if isinstance(blocks, str) else blocks)
    return tuple(out)


def form(instructions: str, *tables: Sequence[Sequence[str]], note: str = "") -> tuple:
    """A form: how to fill it in, then its field tables (label | blank to fill)."""
    blocks: list[Block] = [("h", "填写说明 Instructions"), instructions]
    blocks.extend(("table", tuple(tuple(r) for r in rows)) for rows in tables)
    if note:
        blocks.append(note)
    return tuple(blocks)


@dataclass(frozen=True)
class Step:
    """One revision of a document's story and how far through the workflow it gets.

    ``outcome``: effective | future (approved, effective in ten days) | awaiting_review |
    awaiting_approval | rejected (by the first reviewer, with ``comment``) | draft | cancelled.
    ``edits`` are (old, new) text replacements, cumulative over the story.
    """

    summary: str
    reason: str
    author: str
    approvers: tuple[str, ...]
    reviewers: tuple[str, ...] = ()
    outcome: str = "effective"
    change_type: str = "minor"
    days_ago: int = 0
    comment: str | None = None
    edits: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DemoDocument:
    key: str
    type_code: str
    title: str
    body: tuple[Block, ...]
    steps: tuple[Step, ...]
    department: str | None = None  # None for forms: they belong to the parent's department
    parent: str | None = None
    training_required: bool = False
    confidentiality: str = "internal"
    review_interval_months: int | None = None
    withdraw_reason: str | None = None
    confirm_review: str | None = None  # the periodic-review comment, confirmed today


# The English titles of the demo documents (the English UI, PDFs and exports show them).
ENGLISH_TITLES = {
    "质量手册": "Quality Manual",
    "文件控制程序": "Document Control Procedure",
    "记录控制程序": "Records Control Procedure",
    "内部审核程序": "Internal Audit Procedure",
    "纠正措施程序": "Corrective Action Procedure",
    "管理评审程序": "Management Review Procedure",
    "顾客投诉处理与服务补救程序": "Customer Complaint Handling and Service Recovery Procedure",
    "顾客满意度测量程序": "Customer Satisfaction Measurement Procedure",
    "客服热线接听作业指导书": "Service Hotline Call Handling Work Instruction",
    "在线客服接待作业指导书": "Online Customer Service Work Instruction",
    "顾客回访作业指导书": "Customer Follow-up Call Work Instruction",
    "服务承诺标准": "Service Commitment Standard",
    "设备巡检作业指导书": "Equipment Inspection Round Work Instruction",
    "运维系统账号与口令管理作业指导书": "O&M System Account and Password Work Instruction",
    "传真报修受理作业指导书": "Fax Repair Request Handling Work Instruction",
    "文件更改申请表": "Document Change Request Form",
    "内部审核检查表": "Internal Audit Checklist",
    "纠正措施要求单": "Corrective Action Request Form",
    "管理评审会议纪要": "Management Review Minutes",
    "顾客投诉登记表": "Customer Complaint Register Form",
    "服务补救跟踪回访表": "Service Recovery Follow-up Form",
    "顾客满意度调查表": "Customer Satisfaction Survey Form",
    "服务承诺履行检查表": "Service Commitment Fulfilment Check",
}


def first_issue(author, approvers, reviewers=(), days_ago=365, summary="首次发布", reason=None):
    return Step(
        summary=summary,
        reason=reason or "建立质量管理体系文件",
        author=author,
        approvers=tuple(approvers),
        reviewers=tuple(reviewers),
        days_ago=days_ago,
    )


# The documents ----------------------------------------------------------------------------

QUALITY_MANUAL = DemoDocument(
    key="qm",
    type_code="QM",
    department="QA",
    title="质量手册",
    body=outline(
        [
            "本手册阐述本公司的质量方针、质量目标和质量管理体系的结构，规定体系各过程的要求及其"
            "相互关系，是公司实施和保持质量管理体系的纲领性文件，也用于向顾客、监管部门和认证机构"
            "证实本公司持续提供满足顾客要求和适用法规要求的服务的能力。",
        ],
        [
            "本手册依据 GB/T 19001-2008 idt ISO 9001:2008 编制，适用于本公司客户服务（热线受理、"
            "投诉处理、服务补救）、设备运行维护（巡检、抢修、检修）和市场营销（市场调研、顾客满意度"
            "测量）服务的全过程。",
            "本公司按照顾客要求和行业规范提供服务，不从事服务产品的设计和开发，故删减“设计和开发”"
            "条款；该删减不影响公司提供满足顾客和法规要求的服务的能力和责任。",
        ],
        [
            "总经理是公司质量的第一责任人，制定并批准质量方针和质量目标，批准本手册，提供资源，"
            "主持管理评审。管理者代表由总经理书面任命，负责质量管理体系的建立、实施和保持，向总经理"
            "报告体系的业绩和改进需求，并就质量管理体系有关事宜与外部联络。",
            (
                "table",
                (
                    ("部门", "主要质量职责"),
                    ("总经理办公室 GM", "方针目标管理、管理评审、资源配置"),
                    ("质量管理部 QA", "文件和记录控制、内部审核、纠正措施、质量目标统计"),
                    ("客户服务部 CS", "热线受理、顾客投诉处理与服务补救、服务承诺兑现"),
                    ("运维检修部 OM", "设备巡检、故障抢修、运行维护和检修质量"),
                    ("营销部 MK", "市场调研、顾客满意度测量与分析、服务信息发布"),
                ),
            ),
        ],
        [
            "质量方针：顾客至上，服务规范，快速响应，持续改进。",
            "质量方针通过培训、公告栏和内部网站传达到全体员工，并在管理评审中评审其持续适宜性。"
            "公司各部门依据质量方针建立可测量的质量目标，逐级分解到岗位，每季度统计一次完成情况。",
            (
                "table",
                (
                    ("质量目标", "指标", "统计部门"),
                    ("顾客满意度指数", "不低于 85 分", "营销部"),
                    ("投诉处理及时率", "不低于 98%", "客户服务部"),
                    ("热线 20 秒接通率", "不低于 90%", "客户服务部"),
                    ("设备巡检计划完成率", "100%", "运维检修部"),
                ),
            ),
            "公司识别了质量管理体系所需的过程：顾客需求识别、服务提供、服务补救、监视测量、内部审核、"
            "纠正措施和管理评审，明确了各过程的顺序、相互作用、准则和方法，按“策划—实施—检查—"
            "处置”（PDCA）循环进行管理，并确保过程运行所需的资源和信息。",
        ],
        [
            "本手册引用的程序文件：《文件控制程序》《记录控制程序》《顾客投诉处理与服务补救程序》"
            "《顾客满意度测量程序》《内部审核程序》《纠正措施程序》《管理评审程序》。",
        ],
        ["本手册的发放、更改和回收记录由质量管理部按《文件控制程序》和《记录控制程序》保存。"],
    ),
    steps=(
        first_issue("officer", ["gm"], ["approver"], days_ago=760),
        Step(
            summary="质量目标调整：顾客满意度指数目标由 85 分提高到 88 分",
            reason="上年度管理评审决议：满意度连续四个季度超过 87 分，目标应具有挑战性",
            author="officer",
            reviewers=("approver",),
            approvers=("gm",),
            days_ago=400,
            edits=(("不低于 85 分", "不低于 88 分"),),
        ),
        Step(
            summary="按 GB/T 19001-2016 / ISO 9001:2015 换版：增加组织环境、相关方需求、风险和机遇",
            reason="标准换版，认证机构要求在转换期内完成体系文件转换",
            author="officer",
            reviewers=("approver",),
            approvers=("gm",),
            change_type="major",
            days_ago=30,
            edits=(
                ("GB/T 19001-2008 idt ISO 9001:2008", "GB/T 19001-2016 idt ISO 9001:2015"),
                (
                    "故删减“设计和开发”条款；该删减",
                    "故标准 8.3“产品和服务的设计和开发”不适用；该不适用",
                ),
                (
                    "并确保过程运行所需的资源和信息。",
                    "并确保过程运行所需的资源和信息。公司每年识别内外部因素和相关方（顾客、员工、"
                    "监管部门、供方）的需求和期望，评估风险和机遇，把应对措施纳入质量目标和年度计划，"
                    "并在管理评审中评价其有效性。",
                ),
            ),
        ),
    ),
)

DOCUMENT_CONTROL = DemoDocument(
    key="qp_doc",
    type_code="QP",
    department="QA",
    title="文件控制程序",
    training_required=True,
    body=outline(
        "对质量管理体系所要求的文件进行控制，确保各使用场所得到适用文件的有效版本，防止误用失效"
        "或作废的文件。",
        "适用于质量手册、程序文件、作业指导书、服务规范、表单及外来文件的编制、审核、批准、编号、"
        "发放、更改、定期评审、回收和作废。",
        [
            (
                "bullets",
                (
                    "质量管理部（文控）负责文件编号、登记、发放和回收，维护受控文件清单，组织定期评审。",
                    "各部门负责编制本部门归口的文件，组织员工学习并执行。",
                    "部门负责人负责审核本部门文件；管理者代表或总经理按文件层次批准。",
                ),
            ),
        ],
        [
            (
                "steps",
                "4",
                (
                    "文件编号：按“类型-部门-流水号”编号，如 QP-CS-001；表单在所属程序文件编号后加"
                    " F 和两位流水号，如 QP-CS-001-F01。编号由系统分配，一经分配不再改变、"
                    "不再重用。",
                    "编制：编制人使用公司文件模板起草，写明更改内容和更改原因。",
                    "审核：审核人审查文件的适宜性、充分性以及与其他文件的一致性，提出意见；不同意时"
                    "退回编制人修改。",
                    "批准：批准人在文件审批单上签字批准，并确定生效日期；生效日期不得早于批准日期。",
                    "版本标识：首次发布为 A/0；局部修改版次加 1（A/1、A/2）；重大更改换版（B/0）。"
                    "同一文件同一时间只有一个现行有效版本。",
                    "发放与回收：文控按发放范围发放受控副本并由领用人签收；新版本生效时回收旧版受控"
                    "副本，作废文件加盖“作废”标识后留存参考或按规定销毁。",
                    "定期评审：文件每两年至少评审一次，评审结论为继续有效（签字确认）或启动修订。",
                    "外来文件：登记标准号、发布单位和版本，由使用部门每年查新一次。",
                ),
            ),
            (
                "table",
                (
                    ("文件层次", "文件类型", "审核", "批准"),
                    ("一级", "质量手册 QM", "管理者代表", "总经理"),
                    ("二级", "程序文件 QP", "归口部门负责人", "管理者代表"),
                    ("三级", "作业指导书 WI、服务规范 SP", "部门负责人", "管理者代表"),
                    ("四级", "表单 F", "—", "所属程序文件的批准人"),
                ),
            ),
        ],
        "《质量手册》；《记录控制程序》；GB/T 19001 标准 7.5“成文信息”。",
        "文件更改申请表；受控文件清单；文件发放回收登记表。",
    ),
    steps=(
        first_issue("officer", ["gm"], ["approver"], days_ago=600),
        Step(
            summary="审批方式改为系统内电子签名；增加电子受控副本的规定",
            reason="启用文件管理系统，纸质审批单停用",
            author="officer",
            reviewers=("approver",),
            approvers=("gm",),
            days_ago=200,
            edits=(
                (
                    "批准人在文件审批单上签字批准",
                    "批准人在系统中以电子签名批准（重新输入本人密码，系统记录签名人姓名、时间和"
                    "签名含义）",
                ),
                (
                    "由领用人签收；",
                    "由领用人签收，电子受控副本在系统中阅读，打印件标注“非受控文件”；",
                ),
            ),
        ),
    ),
)

RECORD_CONTROL = DemoDocument(
    key="qp_rec",
    type_code="QP",
    department="QA",
    title="记录控制程序",
    review_interval_months=12,  # reviewed yearly; approved 13 months ago, so now overdue
    body=outline(
        "规定质量记录的标识、贮存、保护、检索、保存期限和处置，使记录清晰、易于识别和检索，为"
        "服务符合要求和体系有效运行提供证据。",
        "适用于质量管理体系运行中产生的纸质和电子记录，包括顾客投诉、满意度调查、设备巡检、"
        "内部审核、纠正措施和管理评审记录。",
        "质量管理部负责编制记录清单并监督检查；各部门负责本部门记录的填写、收集、保存和到期处置；"
        "信息化岗位负责电子记录的备份。",
        [
            (
                "steps",
                "4",
                (
                    "记录格式：记录使用受控表单，表单编号即记录代码；新增或更改表单按《文件控制程序》"
                    "执行。",
                    "填写：记录应及时、真实、完整、字迹清晰，不得使用铅笔；无内容的栏目划“/”。",
                    "更正：纸质记录更正时划改并签名、注明日期，原内容仍可辨认；电子记录完成后不得"
                    "修改，更正以附加更正说明的方式进行并保留原记录。",
                    "贮存与保护：记录按年度、编号归档，存放于防潮、防火、防虫的场所；电子记录每日"
                    "备份，每季度做一次恢复测试。",
                    "检索与借阅：外部人员查阅记录须经部门负责人同意；保密记录按权限查阅。",
                    "处置：保存期满的记录由保管部门列出清单，经质量管理部审核、管理者代表批准后"
                    "销毁，并保存销毁记录。",
                ),
            ),
        ],
        "《文件控制程序》；《质量手册》。",
        [
            (
                "table",
                (
                    ("记录名称", "保管部门", "保存期限"),
                    ("顾客投诉登记表", "客户服务部", "3 年"),
                    ("服务补救跟踪回访表", "客户服务部", "3 年"),
                    ("顾客满意度调查表", "营销部", "3 年"),
                    ("设备巡检记录", "运维检修部", "2 年"),
                    ("内部审核检查表及报告", "质量管理部", "3 年"),
                    ("纠正措施要求单", "质量管理部", "3 年"),
                    ("管理评审会议纪要", "总经理办公室", "5 年"),
                ),
            ),
        ],
    ),
    steps=(first_issue("officer", ["approver"], days_ago=400),),
)

INTERNAL_AUDIT = DemoDocument(
    key="qp_audit",
    type_code="QP",
    department="QA",
    title="内部审核程序",
    training_required=True,
    confirm_review="定期评审：程序与现行做法一致，审核员独立性要求仍适用，确认继续有效，无需修订。",
    body=outline(
        "规定内部审核的策划、实施、报告和跟踪，验证质量管理体系是否符合标准和公司要求，是否得到"
        "有效实施和保持。",
        "适用于本公司质量管理体系覆盖的所有部门和过程的内部审核。",
        "管理者代表批准年度审核计划和审核报告；质量管理部负责组织审核、培训和管理内审员；审核组长"
        "负责编制检查表、主持审核和编写报告；受审核部门负责提供证据、分析原因并实施纠正措施。",
        [
            (
                "steps",
                "4",
                (
                    "年度计划：每年 1 月编制年度内部审核计划，一年内覆盖所有过程和部门；顾客投诉"
                    "明显增加或组织机构重大变化时增加专项审核。",
                    "审核准备：审核组长在审核前一周编制检查表，把标准条款转化为可查证的问题，并"
                    "通知受审核部门。审核员不得审核本人所在部门或本人的工作。",
                    "首次会议：介绍审核范围、准则、日程和方法，确认联络人。",
                    "现场审核：通过面谈、查阅文件和记录、观察现场收集客观证据，在检查表上如实记录。",
                    "不符合项：不符合项应写明事实、依据的条款和严重程度，经受审核部门负责人确认。",
                    "末次会议和报告：报告审核发现和结论，审核报告在审核后 5 个工作日内发出。",
                    "跟踪验证：受审核部门按《纠正措施程序》在规定期限内整改，审核员验证有效后关闭。",
                ),
            ),
            (
                "table",
                (
                    ("阶段", "主要工作", "输出"),
                    ("策划", "年度计划、审核组、检查表", "年度审核计划、内部审核检查表"),
                    ("实施", "首次会议、现场审核、末次会议", "审核记录、不符合项"),
                    ("报告", "汇总发现、得出结论", "内部审核报告"),
                    ("跟踪", "整改、验证、关闭", "纠正措施要求单"),
                ),
            ),
        ],
        "《纠正措施程序》；《管理评审程序》；GB/T 19011《管理体系审核指南》。",
        "年度内部审核计划；内部审核检查表；内部审核报告；纠正措施要求单。",
    ),
    steps=(first_issue("officer", ["approver"], ["mk_head"], days_ago=700),),
)

CORRECTIVE_ACTION = DemoDocument(
    key="qp_ca",
    type_code="QP",
    department="QA",
    title="纠正措施程序",
    body=outline(
        "对已发生的不合格采取措施，消除其原因，防止再次发生，并评审所采取措施的有效性。",
        "适用于顾客投诉、内部审核、外部审核、设备巡检、满意度测量和日常检查中发现的不合格。",
        "质量管理部负责纠正措施的登记、跟踪和验证；责任部门负责原因分析、制定并实施措施；"
        "管理者代表负责协调跨部门的纠正措施。",
        [
            (
                "steps",
                "4",
                (
                    "识别：发现不合格的人员填写纠正措施要求单，写明事实、来源和影响。",
                    "评审与纠正：责任部门立即采取纠正，控制影响，如对受影响的顾客进行服务补救。",
                    "原因分析：责任部门用“五个为什么”或鱼骨图分析根本原因，不能只停留在“员工"
                    "疏忽”。",
                    "措施：针对根本原因制定措施，明确责任人和完成期限，一般不超过 30 天。",
                    "验证：到期后由质量管理部或审核员验证措施是否实施、是否有效；无效的重新分析。",
                    "关闭与总结：有效后关闭，涉及文件更改的按《文件控制程序》修订文件；纠正措施"
                    "的状况作为管理评审的输入。",
                ),
            ),
        ],
        "《顾客投诉处理与服务补救程序》；《内部审核程序》；《管理评审程序》。",
        "纠正措施要求单；纠正措施登记台账。",
    ),
    steps=(
        first_issue("officer", ["approver"], ["om_head"], days_ago=500),
        Step(
            summary="增加重复投诉必须启动纠正措施的规定",
            reason="满意度分析显示重复投诉占投诉总量的 12%，原程序未规定触发条件",
            author="officer",
            reviewers=("cs_head",),
            approvers=("approver",),
            outcome="awaiting_approval",
            comment="同意。建议在宣贯培训中说明重复投诉的判定口径。",
            edits=(
                (
                    "识别：发现不合格的人员填写纠正措施要求单，写明事实、来源和影响。",
                    "识别：发现不合格的人员填写纠正措施要求单，写明事实、来源和影响。同一顾客"
                    "就同一问题在 30 天内投诉两次及以上（重复投诉），或同一原因的投诉一个月内"
                    "超过 5 起，必须启动纠正措施。",
                ),
            ),
        ),
    ),
)

MANAGEMENT_REVIEW = DemoDocument(
    key="qp_mr",
    type_code="QP",
    department="GM",
    title="管理评审程序",
    body=outline(
        "规定最高管理者定期评审质量管理体系，确保其持续的适宜性、充分性和有效性，并与公司的战略"
        "方向一致。",
        "适用于公司年度管理评审和必要时的专题管理评审。",
        "总经理主持管理评审并批准评审报告；管理者代表组织准备评审输入；各部门负责人提供本部门"
        "资料并落实评审决定；质量管理部负责跟踪改进措施的实施。",
        [
            "管理评审每年至少进行一次，一般在年度内部审核完成后的第四季度进行；出现重大顾客投诉、"
            "组织机构或法规发生重大变化时，由总经理决定增加专题评审。",
            (
                "steps",
                "4",
                (
                    "评审输入：以往管理评审决定的落实情况；内外部因素的变化；顾客满意度和相关方"
                    "反馈；质量目标的实现程度；服务承诺兑现和投诉处理情况；不合格和纠正措施；"
                    "审核结果；资源的充分性；风险和机遇应对措施的有效性；改进的机会。",
                    "准备：管理者代表在评审前两周收集各部门的评审输入，编制管理评审报告初稿。",
                    "会议：总经理主持会议，各部门负责人汇报，逐项讨论并形成决定。",
                    "评审输出：改进的机会、体系变更的需求和资源需求，明确责任部门和完成期限，形成"
                    "管理评审会议纪要。",
                    "跟踪：质量管理部跟踪改进措施的实施情况，并在下次评审时报告。",
                ),
            ),
        ],
        "《质量手册》；《内部审核程序》；《纠正措施程序》；《顾客满意度测量程序》。",
        "管理评审计划；管理评审报告；管理评审会议纪要。",
    ),
    steps=(first_issue("officer", ["gm"], ["approver"], days_ago=600),),
)

COMPLAINTS = DemoDocument(
    key="qp_complaint",
    type_code="QP",
    department="CS",
    title="顾客投诉处理与服务补救程序",
    training_required=True,
    body=outline(
        "规范顾客投诉的受理、处理和服务补救，使服务失误得到及时纠正，把不满意的顾客重新变为"
        "满意的顾客，并通过投诉分析推动服务改进。",
        "适用于通过客服热线、在线客服、信函、营业窗口和上级转办等渠道收到的所有顾客投诉。",
        [
            (
                "bullets",
                (
                    "客服代表：受理投诉、登记、首次道歉，并在权限内直接处理。",
                    "客户服务部班组长：处理升级投诉，确定补偿方案，组织回访。",
                    "客户服务部负责人：处理重大投诉，每月分析投诉数据。",
                    "运维检修部等责任部门：在承诺时限内完成现场处理，反馈处理结果。",
                ),
            ),
        ],
        [
            "受理投诉时，客服代表应在《顾客投诉登记表》上记录顾客、事由、期望和联系方式，并按下表"
            "确定投诉等级：",
            (
                "table",
                (
                    ("投诉等级", "判定", "首次响应", "处理完毕"),
                    ("一般", "个别顾客、影响较小", "2 小时内", "3 个工作日内"),
                    ("重大", "多名顾客或反复投诉", "30 分钟内", "24 小时内"),
                    ("紧急", "涉及安全或媒体关注", "立即", "按应急预案"),
                ),
            ),
            "服务补救按以下五个步骤进行：",
            (
                "steps",
                "4",
                (
                    "道歉：第一时间真诚地向顾客道歉，承认给顾客带来的不便；不争辩、不推诿、不责怪"
                    "顾客。",
                    "紧急复原：尽快恢复服务或提供替代方案，告诉顾客将采取的行动和完成时限，并"
                    "兑现承诺。",
                    "移情：站在顾客的角度理解其感受，表达关心，让顾客感到被重视。",
                    "象征性赎罪（补偿）：根据失误对顾客的影响给予适当补偿，如减免当次服务费、赠送"
                    "服务或礼品，补偿标准按班组长权限执行。",
                    "跟踪：问题解决后 5 个工作日内回访，确认顾客满意，并把回访结果记录在《服务补救"
                    "跟踪回访表》上。",
                ),
            ),
            "客户服务部每月统计投诉数量、及时率和回访满意率，分析主要原因；同类投诉反复出现的，"
            "按《纠正措施程序》采取纠正措施。",
        ],
        "《服务承诺标准》；《客服热线接听作业指导书》；《纠正措施程序》。",
        "顾客投诉登记表；服务补救跟踪回访表；月度投诉分析报告。",
    ),
    steps=(
        first_issue("author", ["approver"], ["cs_head"], days_ago=540),
        Step(
            summary="回访时限由处理完毕后 5 个工作日内缩短为 3 个工作日内",
            reason="回访满意率分析：5 天后回访时部分顾客已不记得处理细节",
            author="author",
            reviewers=("cs_head",),
            approvers=("approver",),
            days_ago=120,
            edits=(("问题解决后 5 个工作日内回访", "问题解决后 3 个工作日内回访"),),
        ),
    ),
)

SATISFACTION = DemoDocument(
    key="qp_sat",
    type_code="QP",
    department="MK",
    title="顾客满意度测量程序",
    training_required=True,
    body=outline(
        "规定顾客满意度的测量方法、频次、分析和利用，以监视顾客对服务的感受，识别改进的机会。",
        "适用于本公司客户服务和设备运维服务的顾客满意度调查、分析和报告。",
        "营销部负责组织调查、分析数据和编写报告；客户服务部和运维检修部配合提供服务记录并"
        "落实改进；质量管理部把满意度结果纳入质量目标考核。",
        [
            "满意度调查按 SERVQUAL 模型的五个维度设计问卷，每个维度 3 至 5 个问题，采用 5 分制"
            "评分：",
            (
                "table",
                (
                    ("维度", "含义", "典型问题"),
                    ("可靠性", "准确、可靠地履行服务承诺", "故障是否一次修好"),
                    ("响应性", "愿意帮助顾客并迅速提供服务", "热线是否及时接通"),
                    ("保证性", "员工的知识、礼貌和让人信任的能力", "工程师是否专业"),
                    ("移情性", "关心顾客，提供个性化的关注", "是否考虑您的方便时间"),
                    ("有形性", "设施、设备、人员和资料的外观", "人员着装和工具是否规范"),
                ),
            ),
            (
                "steps",
                "4",
                (
                    "调查频次：每半年一次；重大服务变更后增加一次专项调查。",
                    "抽样：从上半年有服务记录的顾客中按服务类型分层随机抽样，每类不少于 100 份有效"
                    "问卷。",
                    "实施：采用电话回访、短信链接和上门问卷相结合的方式，调查员不得诱导评分。",
                    "计算：满意度指数 = 各维度平均分按权重加权后换算为百分制；同时计算各维度的得分"
                    "和差距。",
                    "分析与报告：营销部在调查结束后 15 个工作日内提交分析报告，指出得分最低的维度"
                    "和主要原因，作为管理评审输入。",
                ),
            ),
        ],
        "《质量手册》；《管理评审程序》；《纠正措施程序》。",
        "顾客满意度调查表；满意度分析报告。",
    ),
    steps=(
        first_issue("officer", ["approver"], ["mk_head"], days_ago=450),
        Step(
            summary="调查问卷改为线上为主，每个维度减为 3 个问题",
            reason="线下问卷回收率低",
            author="officer",
            reviewers=("mk_head",),
            approvers=("approver",),
            outcome="cancelled",
            comment="与营销部明年的调查方案合并，由营销部另行提出修订。",
        ),
    ),
)

HOTLINE = DemoDocument(
    key="wi_hotline",
    type_code="WI",
    department="CS",
    title="客服热线接听作业指导书",
    review_interval_months=6,  # reviewed every six months; the next review is due soon
    body=outline(
        "规范客服热线的接听流程和服务用语，使每一通来电都得到礼貌、准确、高效的处理。",
        "适用于客户服务部热线座席代表和班组长。",
        "座席代表按本指导书接听和处理来电；班组长负责监听抽查、处理升级来电；客户服务部负责人"
        "负责培训和考核。",
        [
            (
                "steps",
                "4",
                (
                    "接听：铃响三声内接听，使用标准问候语，语速适中、吐字清晰。",
                    "核实：询问顾客姓名、联系电话和服务地址，与系统中的客户资料核对。",
                    "倾听与记录：耐心倾听，不打断顾客；在工单系统中记录来电类型和要点。",
                    "复述确认：把顾客的诉求复述一遍，确认理解无误。",
                    "处理：咨询类当场答复；报修类生成工单派发运维检修部，并告知顾客上门时限；投诉类"
                    "按《顾客投诉处理与服务补救程序》登记处理。",
                    "结束：询问顾客是否还有其他需要，使用标准结束语，待顾客挂机后再挂机。",
                    "工单：通话结束后 2 分钟内完成工单，不得遗漏联系电话和承诺时限。",
                ),
            ),
            (
                "table",
                (
                    ("场景", "标准用语"),
                    ("问候", "您好，客服热线，工号 ×××× 为您服务，请问有什么可以帮您？"),
                    ("需要顾客等待", "请您稍等，我马上为您查询。"),
                    ("无法立即答复", "这个问题我需要确认一下，会在 2 小时内给您回电，可以吗？"),
                    ("结束", "感谢您的来电，祝您生活愉快，再见。"),
                ),
            ),
        ],
        "《服务承诺标准》；《顾客投诉处理与服务补救程序》。",
        "来电工单（系统）；班组长监听抽查记录。",
    ),
    steps=(first_issue("author", ["approver"], ["cs_head"], days_ago=170),),
)

ESCALATION = DemoDocument(
    key="wi_escalation",
    type_code="WI",
    department="CS",
    title="Complaint Escalation Work Instruction",
    body=outline(
        "To make sure that a complaint which cannot be resolved at the first contact reaches the "
        "right person quickly and with complete information, so that service recovery starts "
        "within the committed time.",
        "Hotline agents, online service agents and team leaders of the Customer Service "
        "Department, for every complaint registered on the Customer Complaint Registration Form.",
        [
            (
                "bullets",
                (
                    "Agents register and classify the complaint and apologise at once.",
                    "Team leaders accept escalations, assign an owner and approve compensation.",
                    "The head of Customer Service handles major complaints and asks Quality "
                    "Assurance for a corrective action when the cause is systemic.",
                ),
            ),
        ],
        [
            (
                "steps",
                "4",
                (
                    "Classify the complaint as ordinary, major or urgent using the criteria of the "
                    "complaints procedure; when in doubt, choose the higher level.",
                    "Escalate whenever the agent cannot restore the service within the call, the "
                    "customer asks for a supervisor, or the customer has complained about the same "
                    "problem before.",
                    "Hand over in writing: customer, contact number, what happened, what the "
                    "customer expects, and what has already been promised.",
                    "The owner calls the customer back within the response time, confirms the plan "
                    "and the deadline, and records every contact in the ticket.",
                    "Close the ticket only after the follow-up call confirms that the customer is "
                    "satisfied, or after the head of Customer Service accepts an open "
                    "disagreement.",
                ),
            ),
            (
                "table",
                (
                    ("Level", "Criteria", "Escalate to", "Within"),
                    ("Ordinary", "one customer, little impact", "team leader", "2 hours"),
                    ("Major", "several customers or a repeat complaint", "head of CS", "30 min"),
                    ("Urgent", "safety risk or media attention", "general manager", "at once"),
                ),
            ),
        ],
        "Customer Complaint and Service Recovery Procedure; Hotline Call Handling Work "
        "Instruction; Service Commitment Standard.",
        "Customer Complaint Registration Form; escalation history in the ticket system.",
    ),
    steps=(
        Step(
            summary="First issue",
            reason="Escalation rules were only known by experience; new agents need them written",
            author="author",
            reviewers=("cs_head",),
            approvers=("approver",),
            outcome="awaiting_review",
        ),
    ),
)

ONLINE_SERVICE = DemoDocument(
    key="wi_online",
    type_code="WI",
    department="CS",
    title="在线客服接待作业指导书",
    body=outline(
        "规范微信公众号和网站在线客服的接待流程，使在线渠道的服务质量与热线一致。",
        "适用于客户服务部在线客服座席。",
        "在线客服座席按本指导书接待；班组长负责会话质检。",
        [
            (
                "steps",
                "4",
                (
                    "接入：会话接入后 30 秒内首次回复，使用标准欢迎语。",
                    "识别：通过绑定的手机号识别顾客，必要时请顾客提供服务地址。",
                    "处理：咨询类直接答复，报修类在系统中生成工单，投诉类转入投诉登记流程。",
                    "（待补充：与热线工单系统的对接方式，夜间无人值守时的自动回复内容。）",
                ),
            ),
        ],
        "《客服热线接听作业指导书》；《顾客投诉处理与服务补救程序》。",
        "在线会话记录（系统）。",
    ),
    steps=(
        Step(
            summary="首次发布",
            reason="开通微信公众号在线客服",
            author="author",
            reviewers=("cs_head",),
            approvers=("approver",),
            outcome="draft",
        ),
    ),
)

CALLBACK = DemoDocument(
    key="wi_callback",
    type_code="WI",
    department="CS",
    title="顾客回访作业指导书",
    body=outline(
        "规范服务后的顾客回访，确认服务结果和顾客感受，发现问题及时补救。",
        "适用于报修服务完成后和投诉处理完毕后的电话回访。",
        "回访专员负责回访和记录；班组长负责对回访中发现的不满意进行再处理。",
        [
            (
                "steps",
                "4",
                (
                    "回访对象：报修服务按 20% 抽样回访，投诉处理完毕的全部回访。",
                    "准备：回访前阅读工单和投诉登记表，了解处理经过。",
                    "回访时限：投诉处理完毕后 7 天内完成回访。",
                    "内容：确认问题是否解决、对处理人员的评价、对补偿是否认可。",
                    "不满意的处理：顾客仍不满意的，当天转班组长重新处理，并再次回访。",
                ),
            ),
        ],
        "《顾客投诉处理与服务补救程序》。",
        "服务补救跟踪回访表；回访统计表。",
    ),
    steps=(
        Step(
            summary="首次发布",
            reason="统一报修和投诉的回访做法",
            author="author",
            reviewers=("cs_head",),
            approvers=("approver",),
            outcome="rejected",
            comment="4.3 回访时限与《顾客投诉处理与服务补救程序》不一致：程序规定问题解决后 "
            "3 个工作日内回访，这里写的是 7 天内，请统一后重新提交。",
        ),
    ),
)

SERVICE_COMMITMENT = DemoDocument(
    key="sp_commitment",
    type_code="SP",
    department="CS",
    title="服务承诺标准",
    body=outline(
        "向顾客公开本公司的服务承诺，明确服务时限和质量标准，以及未兑现承诺时对顾客的补偿。",
        "适用于本公司向顾客提供的热线、报修和投诉处理服务。",
        "客户服务部负责承诺的发布和兑现统计；运维检修部负责上门服务时限的兑现；营销部负责"
        "通过公众渠道公布承诺。",
        [
            (
                "table",
                (
                    ("服务项目", "承诺标准"),
                    ("客服热线", "7×24 小时人工服务，20 秒接通率不低于 90%"),
                    ("报修响应", "受理后 2 小时内与顾客联系确认上门时间"),
                    ("上门服务", "城区 4 小时内到达现场，郊区 8 小时内到达现场"),
                    ("投诉答复", "一般投诉 24 小时内答复，处理完毕后回访"),
                    ("服务人员", "持证上岗、统一着装、出示工作证，不收受顾客财物"),
                ),
            ),
            "承诺未兑现时，顾客可要求补偿：上门超时的，免收当次上门服务费；同一故障 30 天内"
            "重复报修的，免收当次维修费。补偿由客户服务部登记并在下一个账单周期内兑现。",
            "客户服务部每月统计承诺兑现率，在公司网站公布，并作为管理评审的输入。",
        ],
        "《顾客投诉处理与服务补救程序》；《客服热线接听作业指导书》。",
        "承诺兑现统计表；补偿登记记录。",
    ),
    steps=(
        first_issue("author", ["gm"], ["cs_head"], days_ago=300),
        Step(
            summary="城区上门服务到达时限由 4 小时缩短为 3 小时",
            reason="运维检修部增设城东服务站，具备缩短到达时间的条件",
            author="author",
            reviewers=("cs_head",),
            approvers=("gm",),
            outcome="future",
            edits=(("城区 4 小时内到达现场", "城区 3 小时内到达现场"),),
        ),
    ),
)

INSPECTION = DemoDocument(
    key="wi_inspection",
    type_code="WI",
    department="OM",
    title="设备巡检作业指导书",
    training_required=True,
    body=outline(
        "规定运行设备日常巡检的项目、标准、周期和方法，及早发现设备隐患，保证服务的连续性。",
        "适用于运维检修部对机房、配电和客户侧公共设备的日常巡检。",
        "巡检员按本指导书巡检并记录；班长审核巡检记录，安排缺陷处理；运维检修部负责人每月检查"
        "巡检计划完成情况。",
        [
            (
                "steps",
                "4",
                (
                    "准备：领取巡检路线卡、测温仪和万用表，检查工具完好，穿戴劳动防护用品。",
                    "巡检：按路线卡顺序逐项检查，不得漏项；发现异常先拍照再记录。",
                    "判定：对照下表标准判定正常或异常；异常分为一般缺陷和紧急缺陷。",
                    "报告：紧急缺陷立即电话报告班长并采取隔离措施；一般缺陷在当班结束前录入系统。",
                    "记录：巡检记录当日交班长审核签字，电子记录同步上传。",
                ),
            ),
            (
                "table",
                (
                    ("巡检项目", "标准", "周期"),
                    ("机房温度", "18–27 ℃", "每日两次"),
                    ("机房湿度", "40%–70%", "每日两次"),
                    ("UPS 电池", "无鼓包、无漏液，单体电压正常", "每周"),
                    ("配电柜接点温度", "不高于 70 ℃", "每周"),
                    ("消防器材", "压力指针在绿区，在有效期内", "每月"),
                ),
            ),
        ],
        "《纠正措施程序》；《记录控制程序》；Emergency Service Restoration Work Instruction。",
        "设备巡检记录；缺陷处理单。",
    ),
    steps=(first_issue("officer", ["approver"], ["om_head"], days_ago=350),),
)

RESTORATION = DemoDocument(
    key="wi_restoration",
    type_code="WI",
    department="OM",
    title="Emergency Service Restoration Work Instruction",
    body=outline(
        "To restore service to customers as fast as safely possible after an unplanned outage, "
        "to keep customers and Customer Service informed, and to learn from every major outage.",
        "All unplanned outages of equipment operated by the Operations and Maintenance Department "
        "that interrupt or degrade service to customers.",
        [
            (
                "bullets",
                (
                    "The duty engineer assesses the alarm, sets the priority and leads the repair.",
                    "The head of Operations and Maintenance takes charge of every P1 outage.",
                    "Customer Service informs callers using the status message agreed with the "
                    "duty engineer and updates it at least every hour.",
                ),
            ),
        ],
        [
            (
                "steps",
                "4",
                (
                    "Acknowledge the alarm or the repair ticket within 10 minutes and set the "
                    "priority from the table below.",
                    "Tell Customer Service what is affected and when the next update will come.",
                    "Restore first, repair later: use a temporary bypass, a spare unit or a "
                    "reroute to bring customers back, as long as it is safe.",
                    "Carry out the permanent repair in the next maintenance window and test it.",
                    "For a P1 outage, write an outage report within 3 working days with the root "
                    "cause and raise a corrective action request.",
                ),
            ),
            (
                "table",
                (
                    ("Priority", "Impact", "On site", "Restored"),
                    ("P1", "many customers or a safety risk", "1 hour", "4 hours"),
                    ("P2", "one site or a group of customers", "4 hours", "24 hours"),
                    ("P3", "degraded, workaround available", "next working day", "3 days"),
                ),
            ),
            "Urgent restoration is the second step of service recovery: customers hit by a P1 "
            "outage are called back after the repair as the complaints procedure requires.",
        ],
        "Equipment Inspection Work Instruction (设备巡检作业指导书); Customer Complaint and "
        "Service Recovery Procedure; Corrective Action Procedure.",
        "Repair tickets; outage reports; corrective action requests.",
    ),
    steps=(
        first_issue(
            "officer",
            ["approver"],
            ["om_head"],
            days_ago=250,
            summary="First issue",
            reason="Outage handling differed between shifts",
        ),
    ),
)

ACCOUNTS = DemoDocument(
    key="wi_accounts",
    type_code="WI",
    department="OM",
    title="运维系统账号与口令管理作业指导书",
    confidentiality="confidential",
    body=outline(
        "规定运维监控系统和设备管理账号的开通、使用、变更和注销，防止未经授权的访问。",
        "适用于运维检修部管理的监控平台、网络设备和机房门禁系统的账号。本文件为内部保密文件，"
        "仅限运维检修部和质量管理部查阅。",
        "运维检修部负责人审批账号申请；系统管理员开通和注销账号；账号使用人对本人账号的使用负责。",
        [
            (
                "steps",
                "4",
                (
                    "开通：按“一人一号”原则申请，写明权限范围和期限，经部门负责人批准后开通。",
                    "口令：口令不少于 12 位，包含字母、数字和符号，每 90 天更换，不得写在纸上或"
                    "告诉他人。",
                    "特权账号：超级管理员账号封存使用，每次使用须登记事由并由第二人在场。",
                    "变更与注销：人员调岗或离职当天注销或调整权限。",
                    "检查：每季度核对一次账号清单，清理长期不用的账号。",
                ),
            ),
        ],
        "《记录控制程序》。",
        "账号申请单；特权账号使用登记表；季度账号核查记录。",
    ),
    steps=(first_issue("officer", ["approver"], ["om_head"], days_ago=200),),
)

FAX_REPAIR = DemoDocument(
    key="wi_fax",
    type_code="WI",
    department="OM",
    title="传真报修受理作业指导书",
    withdraw_reason="公司已停用传真报修渠道，报修统一通过客服热线和网上报修平台受理（见《客服热线"
    "接听作业指导书》），本指导书作废。",
    body=outline(
        "规范通过传真收到的报修单的受理、登记和派工。",
        "适用于运维检修部值班室受理的传真报修。",
        "值班员负责接收传真、登记和派工；班长负责跟踪完成情况。",
        [
            (
                "steps",
                "4",
                (
                    "每小时查看一次传真机，收到报修传真后在报修登记簿上登记编号和时间。",
                    "字迹不清或缺少联系方式的，按传真上的号码回电核实。",
                    "按报修地址派工，并把预计到达时间回传给报修单位。",
                    "维修完成后在登记簿上记录完成时间和处理结果。",
                ),
            ),
        ],
        "《设备巡检作业指导书》。",
        "报修登记簿。",
    ),
    steps=(first_issue("officer", ["approver"], ["om_head"], days_ago=900),),
)

FIELDWORK = DemoDocument(
    key="wi_fieldwork",
    type_code="WI",
    department="MK",
    title="Customer Satisfaction Survey Fieldwork Work Instruction",
    body=outline(
        "To collect customer satisfaction data in the same way every time, so that the results of "
        "successive surveys can be compared and trusted.",
        "Telephone, text-message and face-to-face fieldwork for the half-yearly customer "
        "satisfaction survey of the Customer Satisfaction Measurement Procedure.",
        "The survey coordinator in Marketing plans the fieldwork and checks the data; "
        "interviewers follow this instruction; the head of Marketing approves the sample and the "
        "final data set.",
        [
            (
                "steps",
                "4",
                (
                    "Draw the stratified random sample from the service records of the last six "
                    "months; exclude customers surveyed in the previous round.",
                    "Introduce yourself, the purpose of the call and how long it takes; ask for "
                    "consent and stop politely when the customer declines.",
                    "Read each SERVQUAL question exactly as written (reliability, responsiveness, "
                    "assurance, empathy, tangibles) and never suggest a score.",
                    "Record verbatim comments; a score of 1 or 2 always needs the reason.",
                    "Pass any complaint raised during the interview to Customer Service the same "
                    "day, as a complaint, not only as survey data.",
                    "Enter the data twice by two different people and resolve every difference "
                    "against the questionnaire before analysis.",
                ),
            ),
            "Personal data collected in the survey is used only for this survey and is kept "
            "according to the Record Control Procedure.",
        ],
        "Customer Satisfaction Measurement Procedure (顾客满意度测量程序); Customer Satisfaction "
        "Survey Form.",
        "Completed questionnaires; fieldwork log; data-entry check sheet.",
    ),
    steps=(
        first_issue(
            "officer",
            ["approver"],
            ["mk_head"],
            days_ago=400,
            summary="First issue",
            reason="Survey results varied between interviewers",
        ),
    ),
)

SIGNATURES_ROW = (("编制 / 日期", "", "审核 / 日期", ""),)

FORMS = (
    DemoDocument(
        key="f_change",
        type_code="F",
        parent="qp_doc",
        title="文件更改申请表",
        body=form(
            "申请新增、修改或作废受控文件时填写，经审核、批准后交质量管理部办理。",
            (
                ("文件编号", "", "文件名称", ""),
                ("现行版本", "", "申请部门", ""),
                ("申请类型", "□新增 □局部修改 □换版 □作废", "申请日期", ""),
                ("更改内容", "", "", ""),
                ("更改原因", "", "", ""),
                ("影响的其他文件和表单", "", "", ""),
            ),
            (*SIGNATURES_ROW, ("批准 / 日期", "", "文控登记", "")),
        ),
        steps=(first_issue("officer", ["approver"], days_ago=600),),
    ),
    DemoDocument(
        key="f_audit_checklist",
        type_code="F",
        parent="qp_audit",
        title="内部审核检查表",
        body=form(
            "审核组长在审核前按审核的过程和条款编制，审核员在现场如实记录查到的客观证据。",
            (
                ("受审核部门", "", "审核日期", ""),
                ("审核组长", "", "审核员", ""),
            ),
            (
                ("条款", "检查内容", "查证方法", "客观证据", "结论（符合/不符合/观察项）"),
                ("7.5", "文件是否为有效版本", "现场抽查 3 份文件", "", ""),
                ("8.2", "顾客投诉是否按时处理并回访", "抽查 10 份投诉登记表", "", ""),
                ("9.1.2", "是否按计划进行顾客满意度调查", "查阅调查报告", "", ""),
                ("10.2", "纠正措施是否验证有效", "抽查 3 份纠正措施要求单", "", ""),
            ),
        ),
        steps=(first_issue("officer", ["approver"], days_ago=700),),
    ),
    DemoDocument(
        key="f_car",
        type_code="F",
        parent="qp_ca",
        title="纠正措施要求单",
        body=form(
            "发现不合格时填写；原因分析和措施由责任部门填写，验证由质量管理部填写。",
            (
                ("编号", "", "来源", "□投诉 □内审 □外审 □巡检 □其他"),
                ("责任部门", "", "发现日期", ""),
                ("不合格事实", "", "", ""),
                ("纠正（已采取的应急处理）", "", "", ""),
                ("根本原因分析", "", "", ""),
                ("纠正措施及完成期限", "", "", ""),
                ("措施验证（是否有效）", "", "验证人 / 日期", ""),
            ),
        ),
        steps=(first_issue("officer", ["approver"], days_ago=500),),
    ),
    DemoDocument(
        key="f_mr_minutes",
        type_code="F",
        parent="qp_mr",
        title="管理评审会议纪要",
        body=form(
            "管理评审会议后由管理者代表整理，总经理批准后发放各部门。",
            (
                ("会议时间", "", "地点", ""),
                ("主持人", "", "记录人", ""),
                ("参加人员", "", "", ""),
            ),
            (
                ("序号", "评审输入", "评审结论", "改进决定", "责任部门", "完成期限"),
                ("1", "质量目标完成情况", "", "", "", ""),
                ("2", "顾客满意度和投诉", "", "", "", ""),
                ("3", "内部审核结果", "", "", "", ""),
                ("4", "纠正措施状况", "", "", "", ""),
                ("5", "资源需求", "", "", "", ""),
            ),
            (("批准（总经理）/ 日期", "", "", ""),),
        ),
        steps=(first_issue("officer", ["gm"], days_ago=600),),
    ),
    DemoDocument(
        key="f_complaint",
        type_code="F",
        parent="qp_complaint",
        title="顾客投诉登记表",
        body=form(
            "受理投诉时由客服代表填写，处理过程按服务补救的五个步骤逐项记录。",
            (
                ("投诉编号", "", "受理时间", ""),
                ("顾客姓名 / 单位", "", "联系电话", ""),
                ("投诉渠道", "□热线 □在线 □信函 □窗口 □转办", "投诉等级", "□一般 □重大 □紧急"),
                ("投诉内容", "", "", ""),
                ("顾客期望", "", "", ""),
            ),
            (
                ("服务补救步骤", "处理情况", "处理人", "时间"),
                ("道歉", "", "", ""),
                ("紧急复原", "", "", ""),
                ("移情", "", "", ""),
                ("象征性补偿", "", "", ""),
                ("跟踪回访", "", "", ""),
            ),
            note="重复投诉（30 天内同一问题两次及以上）请在投诉编号后注明“重复”。",
        ),
        steps=(first_issue("author", ["approver"], days_ago=540),),
    ),
    DemoDocument(
        key="f_callback",
        type_code="F",
        parent="qp_complaint",
        title="服务补救跟踪回访表",
        body=form(
            "投诉处理完毕后由回访专员电话回访填写；顾客不满意的转班组长再处理。",
            (
                ("投诉编号", "", "回访时间", ""),
                ("顾客姓名", "", "联系电话", ""),
                ("问题是否已解决", "□是 □否", "对处理人员的评价", "□满意 □一般 □不满意"),
                ("对补偿是否认可", "□是 □否", "总体满意度", "□满意 □一般 □不满意"),
                ("顾客意见", "", "", ""),
                ("再处理措施", "", "回访人", ""),
            ),
        ),
        steps=(first_issue("author", ["approver"], days_ago=540),),
    ),
    DemoDocument(
        key="f_survey",
        type_code="F",
        parent="qp_sat",
        title="顾客满意度调查表",
        body=form(
            "请根据您最近一次接受服务的感受评分：5 分非常满意，4 分满意，3 分一般，2 分不满意，"
            "1 分非常不满意。评 1 分或 2 分时请写明原因。",
            (
                ("维度", "调查项目", "评分（1–5）"),
                ("可靠性", "服务是否按约定的时间和内容完成", ""),
                ("可靠性", "故障是否一次修好", ""),
                ("响应性", "热线是否及时接通、问题是否及时处理", ""),
                ("保证性", "服务人员是否专业、礼貌、让人放心", ""),
                ("移情性", "是否考虑了您的实际困难和方便的时间", ""),
                ("有形性", "服务人员着装、工具和资料是否整洁规范", ""),
            ),
            (
                ("您最希望我们改进的地方", ""),
                ("调查方式", "□电话 □短信 □上门"),
                ("调查员 / 日期", ""),
            ),
        ),
        steps=(first_issue("officer", ["approver"], days_ago=450),),
    ),
)

# Creation order: parents before their forms, so numbers come out as in a real system.
DOCUMENTS: tuple[DemoDocument, ...] = (
    QUALITY_MANUAL,
    DOCUMENT_CONTROL,
    RECORD_CONTROL,
    INTERNAL_AUDIT,
    CORRECTIVE_ACTION,
    MANAGEMENT_REVIEW,
    COMPLAINTS,
    SATISFACTION,
    *FORMS,
    HOTLINE,
    ESCALATION,
    ONLINE_SERVICE,
    CALLBACK,
    SERVICE_COMMITMENT,
    INSPECTION,
    RESTORATION,
    ACCOUNTS,
    FAX_REPAIR,
    FIELDWORK,
)

FUTURE_DAYS = 10  # an approved revision becomes effective this many days from today


# The .docx files ---------------------------------------------------------------------------


def _apply(blocks: Sequence[Block], edits: Sequence[tuple[str, str]]) -> tuple[Block, ...]:
    """The body with the text replacements applied; an edit that matches nothing is a bug."""
    for old, new in edits:
        found = False

        def sub(value, old=old, new=new):
            nonlocal found
            if isinstance(value, str):
                found = found or old in value
                return value.replace(old, new)
            return tuple(sub(v) for v in value)

        blocks = tuple(sub(b) for b in blocks)
        if not found:
            raise ValueError(f"demo edit {old!r} matches nothing")
    return tuple(blocks)


def build_docx(
    *,
    number: str,
    title: str,
    label: str,
    department: str,
    body: Sequence[Block],
    history: Sequence[tuple[str, str, str]],
) -> bytes:
    """A .docx laid out like the type template (docx_io.make_template): a header table naming
    the document and revision, the title, the body, then the revision history."""
    document = docx.Document()
    section = document.sections[0]
    header = section.header.add_table(rows=2, cols=4, width=section.page_width)
    header.style = "Table Grid"
    cells = [("文件编号 No.", number), ("版本 Rev.", label), ("文件名称 Title", title)]
    cells.append(("部门 Dept.", department))
    for i, (name, value) in enumerate(cells):
        row, col = divmod(i, 2)
        header.cell(row, col * 2).text = name
        header.cell(row, col * 2 + 1).text = value
    document.add_heading(title, level=1)
    for block in body:
        if isinstance(block, str):
            document.add_paragraph(block)
        elif block[0] == "h":
            document.add_heading(block[1], level=2)
        elif block[0] == "steps":
            _, prefix, items = block
            for i, item in enumerate(items, 1):
                document.add_paragraph(f"{prefix}.{i} {item}")
        elif block[0] == "bullets":
            for item in block[1]:
                document.add_paragraph(item, style="List Bullet")
        elif block[0] == "table":
            _table(document, block[1])
        else:
            raise ValueError(f"unknown demo block {block[0]!r}")
    document.add_heading("修订记录 Revision history", level=2)
    _table(document, (("版本 Rev.", "更改内容 Change", "编制 Author"), *history))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _table(document, rows: Sequence[Sequence[str]]) -> None:
    width = max(len(r) for r in rows)
    table = document.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    for cell in table.rows[0].cells:
        for run in cell.paragraphs[0].runs:
            run.bold = True


# Seeding -----------------------------------------------------------------------------------


def _find(session: Session, type_code: str, title: str) -> Document | None:
    return session.scalars(
        select(Document)
        .join(Document.type)
        .where(DocumentType.code == type_code, Document.title == title)
        .order_by(Document.id)
        .limit(1)
    ).first()


def _play(
    session: Session,
    store: FileStore,
    doc: Document,
    step: Step,
    body: tuple[Block, ...],
    users: dict[str, User],
    today: date,
) -> None:
    """Take one revision as far through the workflow as ``step.outcome`` says."""
    author = users[step.author]
    major, minor, _ = services.next_label(doc, step.change_type)
    label = f"{major}/{minor}"
    issued = [r for r in doc.revisions if r.status in services.ISSUED_STATUSES]
    history = [(r.label, r.change_summary, r.author.full_name) for r in issued]
    history.append((label, step.summary, author.full_name))
    data = build_docx(
        number=doc.number,
        title=doc.title,
        label=label,
        department=doc.department.name,
        body=body,
        history=history,
    )
    upload = check_upload(data, f"{doc.number} {doc.title}.docx", max_bytes=MAX_BYTES)
    revision = services.add_revision(
        session,
        author,
        doc,
        store,
        change_summary=step.summary,
        change_reason=step.reason,
        change_type=step.change_type,
        upload=upload,
    )
    if step.outcome == "draft":
        return
    if step.outcome == "cancelled":
        services.cancel(session, author, revision, reason=step.comment)
        return
    reviewers = [users[u] for u in step.reviewers]
    approvers = [users[u] for u in step.approvers]
    services.submit(session, author, revision, reviewers=reviewers, approvers=approvers)
    if step.outcome == "awaiting_review":
        return
    if step.outcome == "rejected":
        services.review(
            session,
            reviewers[0],
            revision,
            decision="reject",
            password=DEMO_PASSWORD,
            comment=step.comment,
        )
        return
    for reviewer in reviewers:
        services.review(
            session,
            reviewer,
            revision,
            decision="approve",
            password=DEMO_PASSWORD,
            comment=step.comment,
        )
    if step.outcome == "awaiting_approval":
        return
    if step.outcome == "future":
        effective_date, day = today + timedelta(days=FUTURE_DAYS), today
    elif step.outcome == "effective":
        effective_date, day = None, today - timedelta(days=step.days_ago)
    else:
        raise ValueError(f"unknown demo outcome {step.outcome!r}")
    for approver in approvers:
        services.approve(
            session,
            approver,
            revision,
            password=DEMO_PASSWORD,
            effective_date=effective_date,
            today=day,
        )


def _seed_one(
    session: Session,
    store: FileStore,
    spec: DemoDocument,
    users: dict[str, User],
    departments: dict[str, Department],
    today: date,
) -> Document:
    parent_spec = next((d for d in DOCUMENTS if d.key == spec.parent), None)
    parent = _find(session, parent_spec.type_code, parent_spec.title) if parent_spec else None
    if spec.parent and parent is None:
        raise LookupError(f"the demo form {spec.title} needs its procedure first")
    doc = services.create_document(
        session,
        users[spec.steps[0].author],
        type_code=spec.type_code,
        title=spec.title,
        title_en=ENGLISH_TITLES.get(spec.title),
        department=departments[spec.department] if spec.department else None,
        parent_number=parent.number if parent else None,
        training_required=spec.training_required,
        review_interval_months=spec.review_interval_months,
        confidentiality=spec.confidentiality,
    )
    edits: list[tuple[str, str]] = []
    for step in spec.steps:
        edits.extend(step.edits)
        _play(session, store, doc, step, _apply(spec.body, edits), users, today)
    officer = users["officer"]
    if spec.withdraw_reason:
        services.withdraw(
            session, officer, doc, reason=spec.withdraw_reason, password=DEMO_PASSWORD
        )
    if spec.confirm_review:
        services.confirm_review(
            session,
            officer,
            doc,
            password=DEMO_PASSWORD,
            comment=spec.confirm_review,
            today=today,
        )
    return doc


def seed_documents(session: Session, store: FileStore, *, today: date | None = None) -> list[str]:
    """Create whichever demo documents are missing (by type and title); return what was added.

    Needs the demo departments and users of :func:`app.demo.seed`. Flushes only; the caller
    commits.
    """
    today = today or local_today()
    names = {"officer"}
    for spec in DOCUMENTS:
        for step in spec.steps:
            names.update((step.author, *step.reviewers, *step.approvers))
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(names)))}
    departments = {d.code: d for d in session.scalars(select(Department))}
    missing = names - users.keys()
    if missing:
        raise LookupError(f"demo users missing: {', '.join(sorted(missing))}")
    added: list[str] = []
    for spec in DOCUMENTS:
        if _find(session, spec.type_code, spec.title) is not None:
            continue
        doc = _seed_one(session, store, spec, users, departments, today)
        added.append(f"document {doc.number} {doc.title}")
    return added
