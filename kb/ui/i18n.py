"""Interface text in Chinese and English.

The language is chosen by a switch in the sidebar (``auto``, ``zh`` or ``en``).
In ``auto`` the page chrome is Chinese (the product is Chinese-first) and the
text around an article (citation labels, badges, editor labels) follows that
article's ``lang``. ``t(key)`` looks a string up; ``t(key, lang="en")`` forces a
language, which is how article-bound text follows the article.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import Any

import streamlit as st

from kb.ui.markup import md_text

LANGS = ("zh", "en")
AUTO = "auto"
DEFAULT_LANG = "zh"
LANG_KEY = "ui_lang"

STRINGS: dict[str, tuple[str, str]] = {
    # app and navigation
    "app_title": ("鲸驿知识库", "Knowledge base"),
    "lang_switch": ("界面语言", "Interface language"),
    "lang_auto": ("跟随文章", "Follow the article"),
    "nav_signin": ("登录", "Sign in"),
    "nav_assist": ("坐席助手", "Agent assist"),
    "nav_editor": ("编辑文章", "Editor"),
    "nav_review": ("审核队列", "Review queue"),
    "nav_hittest": ("命中测试", "Hit test"),
    "nav_insights": ("运营洞察", "Insights"),
    "nav_history": ("版本历史", "History"),
    "nav_feed": ("知识动态", "Change feed"),
    "nav_practice": ("模拟练习", "Practice"),
    "signed_in_as": ("当前用户：{name}（{roles}）", "Signed in as {name} ({roles})"),
    "sign_out": ("退出登录", "Sign out"),
    "not_allowed": ("你的角色无权使用此页面。", "Your roles do not allow this page."),
    "error": ("操作失败：{message}", "Failed: {message}"),
    "not_ready": ("检索索引尚未就绪：{message}", "The search index is not ready: {message}"),
    # sign-in
    "signin_title": ("登录知识库", "Sign in to the knowledge base"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "signin_button": ("登录", "Sign in"),
    "signin_failed": (
        "用户名或密码错误，或账号已停用。",
        "Wrong user name or password, or the account is disabled.",
    ),
    # roles
    "role_agent": ("坐席", "agent"),
    "role_author": ("作者", "author"),
    "role_reviewer": ("审核人", "reviewer"),
    "role_publisher": ("发布人", "publisher"),
    "role_admin": ("管理员", "admin"),
    "role_supervisor": ("主管", "supervisor"),
    # agent assist
    "assist_title": ("坐席助手", "Agent assist"),
    "question": ("客户问题", "Customer question"),
    "ask": ("获取建议回复", "Suggest a reply"),
    "filter_types": ("文章类型", "Article types"),
    "filter_tags": ("标签", "Tags"),
    "picker_search": ("查找文章（ID 或标题）", "Find an article (id or title)"),
    "picker_placeholder": ("输入部分 ID 或标题", "Type part of the id or title"),
    "picker_more": (
        "共 {total} 篇匹配，显示前 {shown} 篇：请输入更多字以缩小范围",
        "{total} {total:article matches|articles match}, the first {shown} shown: type more "
        "to narrow",
    ),
    "choose": ("不限", "Any"),
    "suggested_reply": ("建议回复", "Suggested reply"),
    "no_answer": (
        "没有足够把握的答案，请转人工处理。该问题已进入待解答队列。",
        "No confident answer: hand over to a person. The question went to the unanswered queue.",
    ),
    "reason": ("原因：{reason}", "Reason: {reason}"),
    "handoff_no_results": (
        "知识库中没有与该问题（对该受众）匹配的内容",
        "nothing in the knowledge base matches this question for this audience",
    ),
    "handoff_low_confidence": (
        "最佳匹配的置信度不够",
        "the best match is not confident enough",
    ),
    "handoff_low_confidence_figures": (
        "最佳匹配的置信度不够：置信度 {c:.2f} 低于 {th:.2f}",
        "the best match is not confident enough: confidence {c:.2f} is below {th:.2f}",
    ),
    "handoff_no_grounded_sentence": (
        "没有可作为答案引用的段落句子",
        "no passage sentence could be cited as an answer",
    ),
    "handoff_no_answer_text": (
        "匹配到的常见问题还没有答案内容",
        "the matching FAQ has no answer text yet",
    ),
    "confidence": ("置信度 {value:.0%}", "Confidence {value:.0%}"),
    "copy": ("复制回复", "Copy reply"),
    "copied": ("已复制", "Copied"),
    "question_help": (
        "可输入多行；Ctrl+Enter 或点击按钮提交。",
        "Several lines are fine; Ctrl+Enter or the button submits.",
    ),
    "recent_questions": ("最近的问题", "Recent questions"),
    "recent_show": ("显示此回复", "Show this reply"),
    "recent_reask": ("重新提问", "Ask again"),
    "recent_handoff": ("未能给出答案（已转人工）", "No answer (handed off)"),
    "recent_partly_handed_off": (
        "部分问题未能给出答案（已转人工）",
        "Some questions got no answer (handed off)",
    ),
    "open_article": ("打开文章 ↗", "Open the article ↗"),
    "opened_article": ("文章：{title} · {id}", "Article: {title} · {id}"),
    "article_not_found": ("没有找到已发布的文章 {id}。", "No published article {id}."),
    "standard_question": ("标准问：{question}", "Question: {question}"),
    "close_article": ("关闭文章", "Close the article"),
    "candidates": (
        "候选文章（请坐席阅读后自行回复）",
        "Candidate articles (read them and reply yourself)",
    ),
    "copy_internal": (
        "复制（内部口径，勿发给客户）",
        "Copy (internal guidance, not for the customer)",
    ),
    "reply_internal": (
        "内部口径，勿发给客户：本回复引用了 {n} 篇仅内部可见的文章（{cites}），仅供坐席参考。",
        "Internal guidance, not for the customer: this reply cites {n} internal-only "
        "{n:article|articles} ({cites}); use it as guidance only.",
    ),
    "reply_overdue": (
        "引用 [{n}]《{title}》复核逾期（应于 {date} 复核），发送前请核实。",
        "Source [{n}] “{title}” is overdue for review (due {date}): check before sending.",
    ),
    "reply_expires": (
        "引用 [{n}]《{title}》即将失效（{date}），发送前请核实。",
        "Source [{n}] “{title}” expires soon ({date}): check before sending.",
    ),
    "reply_disagrees": (
        "另一来源说法不同：本回复采用 [{n}] 的“{figure}”；《{title}》（{id}）写的是“{other_figure}”"
        "（原文：{passage}），发送前请核实。",
        "Another source says otherwise: this reply uses “{figure}” from [{n}]; “{title}” "
        "({id}) says “{other_figure}” (it reads: {passage}). Check before sending.",
    ),
    "citations": ("引用", "Citations"),
    "parts_found": (
        "这条消息问了 {n} 个问题，逐一回答如下。",
        "This message asks {n} {n:question|questions}; each is answered below.",
    ),
    "part_heading": ("问题 {k}：{question}", "Question {k}: {question}"),
    "part_citations": ("问题 {k} 的引用", "Citations of question {k}"),
    "part_candidates": (
        "问题 {k} 的候选文章（请坐席阅读后自行回复）",
        "Candidate articles for question {k} (read them and reply yourself)",
    ),
    "copy_all": ("复制完整回复", "Copy the whole reply"),
    "copy_all_internal": (
        "复制完整回复（含内部口径，勿发给客户）",
        "Copy the whole reply (internal guidance, not for the customer)",
    ),
    "other_results": ("其他相关结果", "Other top results"),
    "no_results": ("没有找到相关文章。", "No matching articles."),
    "helpful": ("有帮助", "Helpful"),
    "wrong": ("答错了", "Wrong"),
    "right_article": ("正确的文章应该是", "The right article is"),
    "right_article_none": ("（不知道）", "(don't know)"),
    "feedback_comment": ("补充说明（可选）", "Comment (optional)"),
    "send_feedback": ("提交反馈", "Send feedback"),
    "feedback_thanks": ("感谢反馈！", "Thanks for the feedback!"),
    "type_policy": ("政策", "Policy"),
    "type_regulation": ("法规", "Regulation"),
    "type_faq": ("常见问题", "FAQ"),
    "version_n": ("第 {n} 版", "version {n}"),
    "effective": ("生效：{start} 至 {end}", "Effective {start} to {end}"),
    "open_ended": ("长期", "open-ended"),
    "section": ("章节：{section}", "Section: {section}"),
    "badge_expires": ("即将失效（{date}）", "Expires soon ({date})"),
    "badge_overdue": ("复核逾期（{date}）", "Review overdue ({date})"),
    "badge_internal": ("仅内部", "Internal"),
    "cited_passage": ("引用原文（高亮）", "Cited passage (highlighted)"),
    "latency": ("耗时 {ms:.0f} 毫秒", "{ms:.0f} ms"),
    # version states
    "state_draft": ("草稿", "draft"),
    "state_in_review": ("审核中", "in review"),
    "state_approved": ("已批准", "approved"),
    "state_published": ("已发布", "published"),
    "state_archived": ("已归档", "archived"),
    "state_rejected": ("已驳回", "rejected"),
    "state_superseded": ("已被取代", "superseded"),
    # editor
    "editor_title": ("编辑文章", "Article editor"),
    "edit_which": ("选择文章", "Article"),
    "new_article": ("＋ 新建文章", "+ New article"),
    "field_id": ("文章 ID", "Article id"),
    "field_type": ("类型", "Type"),
    "field_title": ("标题", "Title"),
    "field_lang": ("语言", "Language"),
    "lang_name_zh": ("中文", "Chinese"),
    "lang_name_en": ("英文", "English"),
    "field_translation_of": ("译自（原文文章 ID）", "Translation of (original article id)"),
    "translation_of_help": (
        "本文是另一篇文章的译文时，填写原文的文章 ID；用该语言提问时优先引用本文。",
        "When this article translates another one, its id; questions in this article's "
        "language are then answered from this one.",
    ),
    "field_tags": ("标签（逗号分隔）", "Tags (comma-separated)"),
    "field_audience": ("可见范围", "Audience"),
    "audience_public": ("公开（坐席和机器人）", "public (agents and bots)"),
    "audience_internal": ("仅内部（坐席）", "internal (agents only)"),
    "field_owner": ("负责人", "Owner"),
    "field_effective_from": ("生效日期", "Effective from"),
    "field_effective_to": ("失效日期", "Effective to"),
    "field_review_due": ("复核日期", "Review due"),
    "field_question": ("标准问", "Standard question"),
    "field_similar": ("相似问", "Similar questions"),
    "similar_n": ("相似问 {n}", "Similar question {n}"),
    "add_similar": ("＋ 添加相似问", "+ Add a similar question"),
    "similar_help": (
        "每行一个相似问，可增删行。",
        "One similar question per row; add or delete rows.",
    ),
    "field_body": ("正文（Markdown）", "Body (Markdown)"),
    "field_answer": ("答案（Markdown）", "Answer (Markdown)"),
    "preview": ("预览", "Preview"),
    "save_draft": ("保存草稿", "Save draft"),
    "submit_review": ("提交审核", "Submit for review"),
    "saved": (
        "已保存：{id} 第 {version} 版（修订 {revision}）",
        "Saved {id} version {version} (revision {revision})",
    ),
    "submitted": (
        "已提交审核：{id} 第 {version} 版",
        "Submitted {id} version {version} for review",
    ),
    "conflict": (
        "保存冲突，未覆盖任何内容：{message}",
        "Conflict, nothing was overwritten: {message}",
    ),
    "reload": ("重新载入最新版本", "Reload the latest version"),
    "editing_state": (
        "正在编辑：第 {version} 版（{state}，修订 {revision}）",
        "Editing version {version} ({state}, revision {revision})",
    ),
    "edit_creates_draft": (
        "该版本为{state}；保存将基于它创建新的草稿版本。",
        "This version is {state}; saving creates a new draft version based on it.",
    ),
    "no_date": ("不设置", "not set"),
    "comment_by": ("{who} 的审核意见（{when}）：{text}", "Comment by {who} ({when}): {text}"),
    # editors' workspace (issue 14): unsaved edits, links
    "unsaved_edits": (
        "有未保存的修改（已自动暂存，重新载入页面也不会丢失）。保存草稿或放弃修改后才能切换文章。",
        "Unsaved changes (kept automatically, a reload keeps them). Save the draft or "
        "discard the changes to switch articles.",
    ),
    "discard_edits": ("放弃修改", "Discard changes"),
    "restored_edits": (
        "已恢复你在 {when}（UTC）未保存的修改。",
        "Restored your unsaved changes from {when} (UTC).",
    ),
    "unsaved_blocks_open": (
        "未打开 {id}：当前文章有未保存的修改。请先保存草稿或放弃修改。",
        "{id} was not opened: the form has unsaved changes. Save the draft or discard "
        "the changes first.",
    ),
    "no_such_article": ("没有文章 {id}。", "No article {id}."),
    "label_tags": ("标签", "Tags"),
    "label_body": ("正文", "Body"),
    "to_publish": ("待发布", "To publish"),
    "col_field": ("字段", "Field"),
    "col_value": ("内容", "Value"),
    "body_unchanged": ("正文未改动。", "The body is unchanged."),
    "approved_by": ("由 {who} 于 {when} 批准", "Approved by {who} on {when}"),
    "approved_by_comment": (
        "由 {who} 于 {when} 批准：{comment}",
        "Approved by {who} on {when}: {comment}",
    ),
    "item_link": ("本条链接", "Link to this item"),
    "show_all_items": ("显示全部", "Show everything"),
    "focused_on": ("只显示 {id}。", "Showing {id} only."),
    "nav_articles": ("文章列表", "Articles"),
    "articles_title": ("文章列表", "Articles"),
    "list_view": ("查看", "Show"),
    "view_all": ("全部文章", "All articles"),
    "view_my_drafts": ("我的草稿", "My drafts"),
    "view_my_review": ("等我审核", "Waiting for my review"),
    "view_to_publish": ("已批准、待发布", "Approved, waiting to publish"),
    "list_search": ("搜索标题、问题和正文", "Search titles, questions and bodies"),
    "any": ("全部", "Any"),
    "review_overdue": ("已逾期", "Overdue"),
    "review_due_30": ("30 天内到期", "Due within 30 days"),
    "expiring_within": ("N 天内失效（0 = 不限）", "Expiring within N days (0 = any)"),
    "list_counts": ("共 {total} 篇：{states}", "{total} {total:article|articles}: {states}"),
    "open_in_editor": ("编辑", "Edit"),
    "edit": ("打开编辑器", "Open in editor"),
    "page_prev": ("上一页", "Previous"),
    "page_next": ("下一页", "Next"),
    "page_of": (
        "第 {n} / {pages} 页（{total} 篇）",
        "Page {n} of {pages} ({total} {total:article|articles})",
    ),
    "action_read": ("阅读", "read"),
    "action_view_drafts": ("查看草稿", "view drafts"),
    "action_create": ("创建", "create"),
    "action_edit": ("编辑", "edit"),
    "action_submit": ("提交审核", "submit"),
    "action_approve": ("批准", "approve"),
    "action_reject": ("驳回", "reject"),
    "action_publish": ("发布", "publish"),
    "action_archive": ("归档", "archive"),
    "action_rollback": ("回滚", "roll back"),
    "action_comment": ("评论", "comment"),
    "action_import": ("导入", "import"),
    "action_bootstrap_publish": ("初始发布", "bootstrap publication"),
    "action_manage_users": ("管理用户", "manage users"),
    "action_manage_golden": ("维护黄金问题", "manage golden questions"),
    "action_override_golden": ("越过黄金问题检查", "override the golden check"),
    "outcome_ok": ("成功", "ok"),
    "outcome_refused": ("被拒绝", "refused"),
    "lifecycle": ("归档与回滚", "Archive and roll back"),
    "lifecycle_reason": ("原因（记入审计）", "Reason (kept in the audit log)"),
    "archive": ("归档（停止使用）", "Archive (take out of service)"),
    "rollback_to": ("回滚到", "Roll back to"),
    "rollback": ("回滚（生成新版本，需再审核）", "Roll back (a new version, reviewed again)"),
    "archived_msg": ("已归档：{id} 第 {version} 版", "Archived {id} version {version}"),
    "rolled_back_msg": (
        "已回滚：{id} 第 {version} 版（第 {to} 版的内容）已进入审核队列",
        "Rolled back: {id} version {version} (the content of version {to}) waits for review",
    ),
    "group_label": ("{question}（{count} 次）", "{question} ({count} {count:time|times})"),
    "faq_from_group": ("据此新建常见问题", "Draft an FAQ from these"),
    "answered_by": ("由哪篇已发布文章解答", "Answered by (published article)"),
    "resolve_group": ("标记为已解决", "Mark resolved"),
    "dismiss_group": ("忽略", "Dismiss"),
    "group_resolved": ("已解决：{question}（{title}）", "Resolved: {question} ({title})"),
    "group_dismissed": ("已忽略：{question}", "Dismissed: {question}"),
    "group_label_assigned": (
        "{question}（{count} 次）· 负责人：{who}",
        "{question} ({count} {count:time|times}) · assigned to {who}",
    ),
    "queue_only_mine": ("只看分配给我的", "Only groups assigned to me"),
    "queue_assignee": ("负责人：{who}", "Assigned to: {who}"),
    "queue_nobody": ("未分配", "nobody"),
    "queue_take": ("由我处理", "Take it"),
    "queue_give_back": ("放回队列", "Give it back"),
    "queue_assign_to": ("分配给", "Assign to"),
    "queue_assign": ("分配", "Assign"),
    "queue_unassign": ("取消分配", "Unassign"),
    "queue_assigned": ("{question}：负责人现为 {who}", "{question}: now assigned to {who}"),
    "queue_mine_empty": ("没有分配给你的未解答问题。", "No unanswered group is assigned to you."),
    "faq_from_queue": (
        "已根据未解答问题新建常见问题草稿：请补充答案后保存。",
        "A new FAQ from the unanswered questions: write the answer, then save.",
    ),
    "unsaved_blocks_faq": (
        "未新建常见问题：编辑器中有未保存的修改。请先保存草稿或放弃修改。",
        "No new FAQ: the editor has unsaved changes. Save the draft or discard them first.",
    ),
    "day": ("日期", "Day"),
    "handoffs": ("转人工", "Hand-offs"),
    "cited_times": ("被引用次数", "Times cited"),
    "col_article_id": ("文章 ID", "Article id"),
    "col_wrong": ("被标为错误", "Marked wrong"),
    "col_suggested_instead": ("建议改用", "Suggested instead"),
    "col_owner": ("负责人", "Owner"),
    "col_reasons": ("原因", "Reasons"),
    "owner_due": (
        "你负责的 {n} 篇文章需要复核、已失效或将在 {days} 天内失效：",
        "{n} of your articles {n:is|are} due for review, expired or expiring within {days} "
        "{days:day|days}:",
    ),
    "owner_due_more": ("……另有 {n} 篇", "… and {n} more"),
    "error_untranslated": ("操作未完成，内容未作任何改动。", "Not done; nothing was changed."),
    "error_details": ("详细信息（英文原文）", "Details"),
    "reason_review_due": ("{date} 应复核", "review due {date}"),
    "reason_expired": ("{date} 已失效", "expired {date}"),
    "reason_expires": ("{date} 失效（{days} 天后）", "expires {date} (in {days} {days:day|days})"),
    "sidebar_unsaved": (
        "编辑器中有未保存的修改：{title}",
        "Unsaved changes in the editor: {title}",
    ),
    # review
    "review_title": ("审核队列", "Review queue"),
    "queue_empty": ("没有待审核的版本。", "Nothing waits for review."),
    "approved_queue": ("已批准、待发布", "Approved, waiting for publication"),
    "approved_empty": ("没有待发布的版本。", "Nothing waits for publication."),
    "diff_against": ("与已发布版本（第 {v} 版）对比", "Compared with the published version {v}"),
    "diff_new_article": ("新文章，尚无已发布版本。", "A new article: nothing is published yet."),
    "old_version": ("已发布", "Published"),
    "new_version": ("待审核", "In review"),
    "review_comment": ("审核意见", "Review comment"),
    "approve": ("批准", "Approve"),
    "reject": ("驳回", "Reject"),
    "publish": ("发布", "Publish"),
    "approved_msg": ("已批准：{id} 第 {version} 版", "Approved {id} version {version}"),
    "rejected_msg": ("已驳回：{id} 第 {version} 版", "Rejected {id} version {version}"),
    "published_msg": ("已发布：{id} 第 {version} 版", "Published {id} version {version}"),
    "own_work": (
        "这是你编辑过的版本（四眼原则：须由他人审核）。",
        "You edited this version (four-eyes: someone else reviews it).",
    ),
    "submitted_by": ("提交人：{who}，{when}", "Submitted by {who}, {when}"),
    "replay_title": ("回放历史答案", "Replay a past answer"),
    "replay_request_id": ("请求编号（request_id）", "Request id"),
    "replay_question": ("问题（已脱敏）：{question}", "Question (masked): {question}"),
    "replay_given": ("当时的答案（{when}）", "As given ({when})"),
    "replay_today": ("按当前索引", "With the current index"),
    "replay_figures": (
        "置信度 {confidence:.2f}，阈值 {threshold}，索引版本 {index}",
        "confidence {confidence:.2f}, threshold {threshold}, index {index}",
    ),
    "replay_handoff": ("转人工：{reason}", "Handed off: {reason}"),
    "replay_same": ("与当时的答案相同。", "The same as the answer given."),
    "replay_changed": (
        "与当时相比有 {n} 处变化：",
        "{n} {n:difference|differences} from the answer given:",
    ),
    "replay_what": ("项目", "What"),
    "replay_diff_answer": ("答案", "answer"),
    "replay_diff_citations": ("引用", "citations"),
    "replay_diff_handoff": ("转人工", "hand-off"),
    "replay_diff_mode": ("答案方式", "mode"),
    "replay_diff_reason": ("原因", "reason"),
    "replay_diff_threshold": ("阈值", "threshold"),
    "replay_diff_index_version": ("索引版本", "index version"),
    "replay_diff_ranked_articles": ("检索到的文章", "ranked articles"),
    "replay_diff_confidence": ("置信度", "confidence"),
    "replay_then": ("当时", "Then"),
    "replay_now": ("现在", "Now"),
    "conflicts_found": (
        "与已发布文章矛盾：{n} 处（同一事项的数字不一致），请核对后再批准。",
        "Contradicts published articles in {n} {n:place|places} (different figures for the "
        "same thing): check before approving.",
    ),
    "conflict_about": ("{kind}：{about}", "{kind}: {about}"),
    "figure_kind_duration": ("时长", "duration"),
    "figure_kind_amount": ("金额", "amount"),
    "figure_kind_percent": ("百分比", "percentage"),
    "figure_kind_multiple": ("倍数", "multiple"),
    "figure_kind_weight": ("重量", "weight"),
    "figure_kind_count": ("次数/数量", "count"),
    "figure_kind_date": ("日期", "date"),
    "conflict_published": ("已发布", "published"),
    "conflicts_after_submit": (
        "已提交，但与已发布文章矛盾 {n} 处，审核人也会看到：",
        "Submitted, but it contradicts published articles in {n} {n:place|places}; the "
        "reviewer sees them too:",
    ),
    "index_note": ("索引已更新。", "The index was updated."),
    "index_pending": (
        "已发布；索引更新稍后完成：{message}",
        "Published; the index update is pending: {message}",
    ),
    # golden questions (review queue)
    "golden_title": ("黄金问题检查", "Golden questions"),
    "golden_running": ("正在检查黄金问题…", "Checking the golden questions…"),
    "golden_no_index": (
        "还没有检索索引，无法检查黄金问题。",
        "No search index yet: the golden questions cannot be checked.",
    ),
    "golden_summary": (
        "共 {checked} 个黄金问题：{broken} 个答案将被破坏，{fixed} 个将被修复，"
        "{moved} 个改由其他文章回答。",
        "{checked} golden {checked:question|questions}: {broken} {broken:answer|answers} "
        "would break, {fixed} would be fixed, {moved} would move to another article.",
    ),
    "golden_broken": ("将被破坏的答案", "Answers this version would break"),
    "golden_fixed": ("将被修复的答案", "Answers this version would fix"),
    "golden_moved": ("改由其他文章回答", "Answers that would move to another article"),
    "golden_expected": ("应由文章", "Expected article"),
    "golden_before": ("当前答案", "Answer now"),
    "golden_after": ("发布后答案", "Answer after publishing"),
    "golden_source": ("来源", "Source"),
    "golden_source_manual": ("手工添加", "added by hand"),
    "golden_source_feedback": ("坐席反馈", "agent feedback"),
    "golden_source_faq": ("FAQ 问法", "FAQ question"),
    "golden_override": (
        "覆盖理由（发布会破坏黄金答案时必填，记入审计）",
        "Override reason (needed when publishing breaks golden answers; audited)",
    ),
    "golden_refused": ("未发布：{message}", "Not published: {message}"),
    "corrections": (
        "坐席纠正（可设为黄金问题）",
        "Agents' corrections (accept as golden questions)",
    ),
    "correction_line": (
        "「{question}」 引用了 {cited}，坐席指出应为 **{right}**（{who}）",
        "“{question}” cited {cited}; the agent says it should be **{right}** ({who})",
    ),
    "state_scheduled": ("{state}（定时发布 {when}）", "{state} (scheduled {when})"),
    "schedule_date": ("日期", "Date"),
    "schedule_time": ("时间（UTC）", "Time (UTC)"),
    "schedule_button": ("定时发布", "Schedule"),
    "scheduled_note": (
        "已定时于 {when}（UTC）自动发布（{who} 安排）。",
        "Scheduled to be published at {when} (UTC) by {who}.",
    ),
    "schedule_done": (
        "定时发布已完成：{id} 第 {version} 版（{who} 安排）。",
        "Scheduled publication done: {id} version {version} (scheduled by {who}).",
    ),
    "schedule_failed": (
        "定时发布未能完成：{id} 第 {version} 版：{reason}",
        "The scheduled publication of {id} version {version} failed: {reason}",
    ),
    "schedule_failed_unknown": ("发布被拒绝（详见 kb publish-due）", "publication refused"),
    "unschedule_button": ("取消定时", "Cancel the schedule"),
    "action_schedule_publish": ("定时发布", "schedule publication"),
    "action_unschedule_publish": ("取消定时发布", "cancel scheduled publication"),
    "wrong_answers": ("被标为错误的答案", "Answers marked wrong"),
    "wrong_answer_line": ("{when} 「{question}」（{who}）", "{when} “{question}” ({who})"),
    "wrong_cited": ("引用：", "cited: "),
    "wrong_right": ("应为：", "should be: "),
    "replay_link": ("回放这次答案", "replay this answer"),
    "accept_golden": ("设为黄金问题", "Accept as golden"),
    "golden_accepted": ("已设为黄金问题：{question}", "Golden question added: {question}"),
    "golden_list_title": ("黄金问题", "Golden questions"),
    "golden_list_empty": (
        "还没有手工添加的黄金问题（已发布 FAQ 的标准问和相似问自动计入）。",
        "No golden questions added yet (published FAQs' own questions count automatically).",
    ),
    "golden_new_question": ("新的黄金问题", "New golden question"),
    "golden_add": ("添加黄金问题", "Add golden question"),
    "golden_added": ("已添加黄金问题：{question}", "Golden question added: {question}"),
    "golden_retire_which": ("停用哪个黄金问题", "Golden question to retire"),
    "golden_retire": ("停用", "Retire"),
    "golden_retired": ("已停用黄金问题：{question}", "Golden question retired: {question}"),
    # hit test
    "hittest_title": ("命中测试", "Hit test"),
    "hittest_questions": ("测试问题（每行一个）", "Questions (one per line)"),
    "hittest_draft": ("对比草稿（可选）", "Compare with a draft (optional)"),
    "hittest_none": ("（仅已发布文章）", "(published articles only)"),
    "hittest_run": ("运行测试", "Run"),
    "hittest_now": ("当前命中", "Answers now"),
    "hittest_after": ("草稿发布后命中", "Would answer after publishing"),
    "hittest_changed": ("变化", "Changed"),
    "hittest_as_of": (
        "草稿 {day} 起生效：发布后的命中按该日检索。",
        "The draft takes effect on {day}: 'after' is searched as of that day.",
    ),
    "hittest_runners_up": ("其他候选", "Runners-up"),
    "hittest_runners_up_after": ("发布后其他候选", "Runners-up after"),
    "hittest_private": (
        "草稿只在本次测试的临时索引中检索，坐席和机器人看不到。",
        "The draft is searched in a temporary index for this test only; "
        "agents and bots never see it.",
    ),
    # insights
    "insights_title": ("运营洞察", "Insights"),
    "unanswered": ("待解答问题（按相似问题分组）", "Unanswered questions (grouped by similarity)"),
    "unanswered_empty": ("没有待解答的问题。", "No unanswered questions."),
    "count": ("次数", "Count"),
    "examples": ("示例问题", "Example questions"),
    "feedback": ("反馈", "Feedback"),
    "helpful_rate": ("有帮助比例", "Helpful rate"),
    "feedback_count": ("反馈数", "Feedback given"),
    "marked_wrong": ("被标记为答错的文章", "Articles marked wrong"),
    "stale": ("复核逾期或即将失效的文章", "Articles past review date or expiring"),
    "stale_empty": ("没有需要复核的文章。", "No article needs attention."),
    "most_cited": ("被引用最多的文章", "Most-cited articles"),
    "queries": ("查询数", "Questions asked"),
    "handoff_rate": ("转人工比例", "Hand-off rate"),
    "per_day": ("每日查询与转人工", "Questions and hand-offs per day"),
    # history
    "col_version": ("版本", "Version"),
    "col_state": ("状态", "State"),
    "col_revision": ("修订", "Revision"),
    "col_title": ("标题", "Title"),
    "col_based_on": ("基于版本", "Based on"),
    "col_editors": ("编辑者", "Editors"),
    "col_updated_by": ("最后修改人", "Updated by"),
    "col_updated_at": ("修改时间", "Updated at"),
    "col_seq": ("序号", "Seq"),
    "col_ts": ("时间", "Time"),
    "col_actor": ("操作人", "Actor"),
    "col_action": ("操作", "Action"),
    "col_outcome": ("结果", "Outcome"),
    "col_from_state": ("原状态", "From"),
    "col_to_state": ("新状态", "To"),
    "col_comment": ("说明", "Comment"),
    "col_author": ("作者", "Author"),
    "col_kind": ("类别", "Kind"),
    "col_created_at": ("时间", "Time"),
    "col_body": ("内容", "Text"),
    "history_title": ("版本历史", "History"),
    "versions": ("版本", "Versions"),
    "audit_events": ("审计事件", "Audit events"),
    "comments": ("评论", "Comments"),
    "view_version": ("查看版本", "Show version"),
    # change feed (kb.ui.feed)
    "feed_title": ("知识动态", "Change feed"),
    "feed_unread_notice": (
        "有 {n} 条知识变更未读，其中 {m} 条必读。",
        "{n} unread {n:change|changes} in the knowledge base, {m} of them must-read.",
    ),
    "feed_empty": ("暂无知识变更。", "No changes yet."),
    "feed_only_unread": ("只看未读", "Unread only"),
    "feed_must_read": ("必读", "Must read"),
    "feed_read": ("已读", "Read"),
    "feed_unread": ("未读", "Unread"),
    "feed_kind_new": ("新文章", "New article"),
    "feed_kind_updated": ("新版本", "New version"),
    "feed_kind_archived": ("已下线", "Archived"),
    "feed_kind_effective": ("今起生效", "Now effective"),
    "feed_kind_expired": ("已失效", "Expired"),
    "feed_type_policy": ("政策", "policy"),
    "feed_type_regulation": ("法规", "regulation"),
    "feed_type_faq": ("常见问题", "FAQ"),
    "feed_effective_from": ("生效日期：{day}", "Effective from {day}"),
    "feed_published_at": ("{who} 发布于 {when}", "Published by {who} on {when}"),
    "feed_no_changes": ("（无文字变化）", "(no change in the text)"),
    "feed_archived_note": (
        "本文已下线，不再用于回答。",
        "This article is out of service: answers no longer use it.",
    ),
    "feed_expired_note": (
        "本文已过失效日期，不再用于回答。",
        "This article is past its end date: answers no longer use it.",
    ),
    "feed_ack": ("已阅读", "Mark as read"),
    "feed_acked_msg": ("已确认阅读：{title}", "Marked as read: {title}"),
    "feed_acked_at": ("你已于 {when} 确认阅读", "You read it on {when}"),
    "feed_show_diff": ("查看差异", "Show the diff"),
    "feed_acks_title": ("阅读确认（主管）", "Acknowledgements (supervisors)"),
    "feed_acks_line": (
        "已阅读 {done} 人 · 未阅读 {pending} 人",
        "{done} acknowledged · {pending} not yet",
    ),
    "feed_acked_by": ("已阅读：{names}", "Acknowledged: {names}"),
    "feed_pending": ("未阅读：{names}", "Not yet: {names}"),
    "feed_reminders": ("提醒名单（必读未读）", "Reminder list (must-read not yet read)"),
    "feed_reminders_empty": (
        "所有坐席都已阅读必读变更。",
        "Every agent has read the must-read changes.",
    ),
    "feed_agent": ("坐席", "Agent"),
    "feed_entries": ("未读必读变更", "Unread must-read changes"),
    "change_title": ("标题", "title"),
    "change_question": ("标准问", "question"),
    "change_similar_questions": ("相似问", "similar questions"),
    "change_audience": ("可见范围", "audience"),
    "change_effective_from": ("生效日期", "effective from"),
    "change_effective_to": ("失效日期", "effective to"),
    "change_more": ("处其他变更", "more changes"),
    "importance": ("重要程度", "Importance"),
    "importance_normal": ("普通", "Normal"),
    "importance_must_read": ("必读", "Must read"),
    # practice (kb.ui.practice)
    "practice_title": ("模拟练习", "Practice"),
    "practice_start": ("开始练习", "Start a round"),
    "practice_tags": ("标签（不选为全部）", "Tags (none: all)"),
    "practice_types": ("文章类型（不选为全部）", "Article types (none: all)"),
    "practice_audience": ("练习范围", "Round"),
    "practice_audience_public": (
        "面向客户（仅公开文章）",
        "Customer-facing (public articles only)",
    ),
    "practice_audience_internal": ("含内部文章", "Including internal articles"),
    "practice_size": ("题目数量", "Questions"),
    "practice_for": ("为坐席安排", "For agent"),
    "practice_started": (
        "练习 #{id} 已开始：{n} 道题",
        "Round #{id} started: {n} {n:question|questions}",
    ),
    "practice_round": ("练习 #{id}", "Round #{id}"),
    "practice_round_for": ("练习 #{id}（{agent}）", "Round #{id} ({agent})"),
    "practice_question": ("第 {n} 题：{question}", "Question {n}: {question}"),
    "practice_reply": ("你的回复", "Your reply"),
    "practice_submit": ("提交回复", "Submit the reply"),
    "practice_verdict_good": ("回答正确", "Good"),
    "practice_verdict_partial": ("部分正确", "Partly right"),
    "practice_verdict_wrong_figure": ("有错误信息", "Wrong figure"),
    "practice_verdict_off_topic": ("答非所问", "Off topic"),
    "practice_scored": ("{verdict} · 得分 {score:.0f}", "{verdict} · score {score:.0f}"),
    "practice_fact_given": ("**已答出**：{fact}", "**Given**: {fact}"),
    "practice_fact_missing": ("**未提到**：{fact}", "**Missing**: {fact}"),
    "practice_fact_wrong": (
        "**有误**：{fact}（你的回复：{said}）",
        "**Wrong**: {fact} (you said {said})",
    ),
    "practice_read_article": ("对照文章：{id} v{version}", "Read the article: {id} v{version}"),
    "practice_finished": ("本轮结束，得分 {score:.0f}", "Round finished: score {score:.0f}"),
    "practice_my_record": ("我的练习", "My practice"),
    "practice_record_line": (
        "已完成 {rounds} 轮，平均分 {average}",
        "{rounds} {rounds:round|rounds} finished, average {average}",
    ),
    "practice_weak": ("薄弱主题：{topics}", "Weak topics: {topics}"),
    "practice_no_weak": ("暂无薄弱主题。", "No weak topics."),
    "practice_team": ("团队练习情况", "The team's practice"),
    "practice_col_agent": ("坐席", "Agent"),
    "practice_col_rounds": ("轮数", "Rounds"),
    "practice_col_answers": ("答题数", "Answers"),
    "practice_col_average": ("平均分", "Average"),
    "practice_col_last": ("最近一轮", "Last round"),
    "practice_col_weak": ("薄弱主题", "Weak topics"),
}


def current_lang() -> str:
    """The interface language chosen by the switch: ``auto``, ``zh`` or ``en``."""
    return st.session_state.get(LANG_KEY, AUTO)


def resolve(article_lang: str | None = None) -> str:
    """The language to show: the switch, or in ``auto`` the article's, else Chinese."""
    chosen = current_lang()
    if chosen in LANGS:
        return chosen
    if article_lang:
        base = article_lang.split("-")[0].lower()
        if base in LANGS:
            return base
    return DEFAULT_LANG


class _Formatter(string.Formatter):
    """``str.format`` plus English plurals: ``{n:time|times}`` is the word for ``n``
    ("time" when ``n`` is 1, else "times"), so "{n} {n:time|times}" reads "1 time",
    "2 times"."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" in format_spec:
            singular, plural = format_spec.split("|", 1)
            return singular if _is_one(value) else plural
        return super().format_field(value, format_spec)


def _is_one(value: Any) -> bool:
    try:
        return float(value) == 1
    except (TypeError, ValueError):
        return False


_FORMATTER = _Formatter()


def t(key: str, lang: str | None = None, **values: Any) -> str:
    """The text of ``key`` in ``lang`` (default: the resolved interface language).

    Text values filled in are shown literally wherever the text is rendered as
    Markdown (titles, ids, comments and error messages are user text): each is
    escaped with ``kb.ui.markup.md_text``. Numbers keep their format specs; a spec
    ``singular|plural`` picks the English word for the number (``_Formatter``).
    """
    zh, en = STRINGS[key]
    text = en if (lang or resolve()) == "en" else zh
    if not values:
        return text
    escaped = {k: md_text(v) if isinstance(v, str) else v for k, v in values.items()}
    return _FORMATTER.format(text, **escaped)


def language_name(code: str, lang: str | None = None) -> str:
    """An article language for a reader: "中文" / "Chinese" for ``zh`` and so on; a code
    without a name here is shown as written."""
    key = f"lang_name_{code}"
    return t(key, lang=lang) if key in STRINGS else code


#: What separates the items of a list written out in a sentence or a cell.
LIST_SEPARATORS = {"zh": "、", "en": ", "}


def enumeration(items: Iterable[str], lang: str | None = None) -> str:
    """``items`` as one list in ``lang`` (default: the resolved interface language):
    "退款、延误" in Chinese, "refund, delay" in English. The items are joined as given
    (escape user text first where the result is Markdown)."""
    return LIST_SEPARATORS["en" if (lang or resolve()) == "en" else "zh"].join(items)


def language_switch() -> None:
    """The sidebar radio that sets the interface language."""
    options = [AUTO, *LANGS]
    labels = {
        AUTO: f"{t('lang_auto', 'zh')} / {t('lang_auto', 'en')}",
        "zh": "中文",
        "en": "English",
    }
    st.sidebar.radio(
        t("lang_switch"),
        options,
        key=LANG_KEY,
        format_func=labels.__getitem__,
        horizontal=True,
    )
