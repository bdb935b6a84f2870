;;; gastown-dispatch.el --- One menu reaching every gastown command  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; `gastown-dispatch' is a `transient' menu over the whole client.

;;; Code:

(require 'gastown)
(require 'transient)

(declare-function gastown-mayor "gastown-transcript" (&optional town))
(declare-function gastown-transcript "gastown-transcript" (agent &optional town))
(declare-function gastown-nudge "gastown-transcript" (target message &optional town))
(declare-function gastown-attach "gastown-transcript" (agent &optional town))
(declare-function gastown-convoys "gastown-convoys" (&optional town))
(declare-function gastown-mail "gastown-mail" (&optional town))
(declare-function gastown-mail-compose "gastown-mail" (to &optional town))
(declare-function gastown-agents "gastown-agents" (&optional town))
(declare-function gastown-seance "gastown-agents" (agent session question &optional town))
(declare-function gastown-handoff "gastown-agents" (agent &optional town))
(declare-function gastown-peek "gastown-agents" (agent &optional town))
(declare-function gastown-sling "gastown-beads" (what target &optional town formula vars))
(declare-function gastown-feed "gastown-beads" (&optional town))
(declare-function gastown-bead "gastown-beads" (id &optional town))
(declare-function gastown-mq "gastown-mq" (&optional town))
(declare-function gastown-doctor "gastown-mq" (&optional town))
(declare-function gastown-status "gastown-status" (&optional town))
(declare-function gastown-rig-dispatch "gastown-rigs" ())
(declare-function gastown-agent-dispatch "gastown-polecats" ())
(declare-function gastown-formula-dispatch "gastown-formula" ())
(declare-function gastown-ops-dispatch "gastown-work" ())
(declare-function gastown-beadlist "gastown-beadlist" (&optional town))
(declare-function gastown-bead-verbs "gastown-beadlist" ())

;;;###autoload (autoload 'gastown-dispatch "gastown-dispatch" nil t)
(transient-define-prefix gastown-dispatch ()
  "Reach every Gas Town command."
  [["Talk"
    ("m" "Mayor" gastown-mayor)
    ("t" "Agent transcript" gastown-transcript)
    ("n" "Nudge an agent" gastown-nudge)
    ("A" "Attach a terminal" gastown-attach)]
   ["Work"
    ("c" "Convoys" gastown-convoys)
    ("s" "Sling" gastown-sling)
    ("b" "Bead" gastown-bead)
    ("B" "Bead list" gastown-beadlist)
    ("f" "Feed" gastown-feed)
    ("q" "Merge queue" gastown-mq)]
   ["Mail"
    ("i" "Inbox" gastown-mail)
    ("w" "Write a message" gastown-mail-compose)]
   ["Agents"
    ("a" "Agents" gastown-agents)
    ("p" "Peek" gastown-peek)
    ("h" "Hand off" gastown-handoff)
    ("S" "Seance" gastown-seance)]
   ["Town"
    ("T" "Status" gastown-status)
    ("d" "Doctor" gastown-doctor)]
   ["Operate"
    ("r" "Rigs..." gastown-rig-dispatch)
    ("P" "Crew and polecats..." gastown-agent-dispatch)
    ("v" "Bead verbs, dependencies..." gastown-bead-verbs)
    ("F" "Formulas..." gastown-formula-dispatch)
    ("o" "Work, broadcast, escalate..." gastown-ops-dispatch)]
   ["Server"
    ("C" "Connect" gastown-connect)
    ("R" "Reconnect" gastown-reconnect)
    ("D" "Disconnect" gastown-disconnect)
    ("e" "Events log" gastown-events)]])

(provide 'gastown-dispatch)

;;; gastown-dispatch.el ends here
