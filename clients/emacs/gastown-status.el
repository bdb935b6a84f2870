;;; gastown-status.el --- A town at a glance  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; `gastown-status' shows what `gt status' does, in sections: the
;; daemon and patrol health, the rigs, every agent with its state and
;; hook, the town's cost, and failures (undelivered nudges, dead or
;; stuck agents).  It is kept current by the server's `$/gastown/event'
;; and `$/gastown/agentChanged' pushes, coalesced; no polling.

;;; Code:

(require 'gastown)
(require 'magit-section)

(defgroup gastown-status nil
  "A Gas Town at a glance."
  :group 'gastown)

(defvar gastown-status-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map magit-section-mode-map)
    (define-key map (kbd "g") #'gastown-status-refresh)
    map)
  "Keymap of `gastown-status-mode'.")

(define-derived-mode gastown-status-mode magit-section-mode "Gastown-Status"
  "Major mode showing a town at a glance.

\\{gastown-status-mode-map}"
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-status-refresh))))

(defconst gastown-status--patrol-roles '("deacon" "witness" "refinery")
  "Roles whose agents patrol the town.")

(defun gastown-status--agent-state (agent)
  "Return AGENT's state for display, as `gt status' does.
A session that is not running is stopped whatever its recorded agent
state says (the ledger keeps the last one, often idle)."
  (let ((state (gastown-str (plist-get agent :agent_state))))
    (cond ((not (gastown-true-p (plist-get agent :running))) "stopped")
          ((not (gastown-true-p (plist-get agent :alive))) "dead")
          ((not (string-empty-p state)) state)
          (t "running"))))

(defun gastown-status--face (state)
  "Return the face showing an agent STATE."
  (pcase state
    ((or "working" "running") 'success)
    ((or "stuck" "dead") 'error)
    ("stopped" 'shadow)
    (_ 'default)))

(defun gastown-status--agent-line (agent)
  "Return one display line for AGENT."
  (let ((state (gastown-status--agent-state agent))
        (hook (mapconcat #'gastown-str (gastown-seq (plist-get agent :hook)) ",")))
    (format "  %-28s %-10s %s%s\n" (gastown-str (plist-get agent :address))
            (gastown-str (plist-get agent :role))
            (propertize state 'face (gastown-status--face state))
            (if (string-empty-p hook) "" (concat "  hook " hook)))))

(defun gastown-status--daemon-line (daemon)
  "Return the display line for DAEMON's health."
  (if (gastown-true-p (plist-get daemon :running))
      (format "  daemon     %s (pid %s, %s beats, every %ss)\n" (propertize "running" 'face 'success)
              (gastown-str (plist-get daemon :pid)) (gastown-str (plist-get daemon :beats))
              (gastown-str (plist-get daemon :interval_s)))
    (format "  daemon     %s\n" (propertize "not running" 'face 'warning))))

(defun gastown-status--insert (result)
  "Insert the `town/status' RESULT into the current buffer."
  (let* ((inhibit-read-only t)
         (town (plist-get result :town))
         (full (plist-get result :status))
         (agents (gastown-seq (plist-get full :agents)))
         (failing (seq-filter (lambda (a) (member (gastown-status--agent-state a) '("dead" "stuck")))
                              agents))
         (nudges (gastown-seq (plist-get full :nudge_failures))))
    (erase-buffer)
    (magit-insert-section (gastown-status-root)
      (magit-insert-heading
        (format "Town %s  %s" (gastown-str (plist-get town :name)) (gastown-str (plist-get town :root))))
      (if (null full)
          (insert "  A ledger-only town (bd init): no rigs, agents or daemon\n")
        (magit-insert-section (gastown-status-health)
          (magit-insert-heading "Health")
          (insert (gastown-status--daemon-line (plist-get full :daemon)))
          (dolist (a agents)
            (when (member (plist-get a :role) gastown-status--patrol-roles)
              (let ((state (gastown-status--agent-state a)))
                (insert (format "  patrol     %-22s %s\n" (gastown-str (plist-get a :address))
                                (propertize state 'face (gastown-status--face state)))))))
          (let ((cost (plist-get full :cost_usd))
                (err (gastown-str (plist-get full :costs_error))))
            (insert (format "  costs      %s\n" (if (string-empty-p err) (format "$%.2f" (or cost 0))
                                                   err))))
          (insert "\n"))
        (magit-insert-section (gastown-status-rigs)
          (magit-insert-heading (format "Rigs (%d)" (length (plist-get full :rigs))))
          (dolist (rig (gastown-seq (plist-get full :rigs)))
            (insert (format "  %-16s %-6s %s\n" (gastown-str (plist-get rig :name))
                            (gastown-str (plist-get rig :prefix)) (gastown-str (plist-get rig :repo)))))
          (insert "\n"))
        (magit-insert-section (gastown-status-agents)
          (magit-insert-heading (format "Agents (%d)" (length agents)))
          (dolist (a agents) (insert (gastown-status--agent-line a)))
          (insert "\n"))
        (magit-insert-section (gastown-status-failures)
          (magit-insert-heading (format "Failures (%d)" (+ (length failing) (length nudges))))
          (dolist (a failing) (insert (gastown-status--agent-line a)))
          (dolist (n nudges)
            (insert (format "  nudge to %s failed: %s\n" (gastown-str (plist-get n :session))
                            (gastown-str (plist-get n :reason))))))))))

(defun gastown-status--show (result)
  "Show RESULT in the current buffer, keeping point's line."
  (let ((line (line-number-at-pos)))
    (gastown-status--insert result)
    (goto-char (point-min))
    (forward-line (1- line))))

;;;###autoload
(defun gastown-status (&optional town)
  "Show TOWN at a glance: health, rigs, agents, costs and failures."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let* ((town (or town (gastown-current-town)))
         (buf (gastown-buffer "status" town)))
    (gastown-conn town)
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-status-mode)
        (gastown-status-mode)
        (setq gastown-buffer-town town))
      (gastown-status-refresh))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-status-refresh ()
  "Fetch the town's status again."
  (interactive)
  (gastown-status--show (gastown-request 'town/status nil gastown-buffer-town)))

(defvar gastown-status--timers (make-hash-table :test #'equal)
  "Map a town to its pending status refresh timer.")

(defun gastown-status--on-notification (town method _params)
  "Refresh TOWN's status buffers on an agent or ledger change (METHOD)."
  (when (and (memq method '($/gastown/event $/gastown/agentChanged))
             (gastown-buffers-of 'gastown-status-mode town)
             (not (gethash town gastown-status--timers)))
    (puthash town
             (run-with-timer 0.2 nil
                             (lambda ()
                               (remhash town gastown-status--timers)
                               (when (gastown-connected-p town)
                                 (gastown-async 'town/status nil
                                                (lambda (result)
                                                  (dolist (buf (gastown-buffers-of 'gastown-status-mode town))
                                                    (with-current-buffer buf (gastown-status--show result))))
                                                :town town :on-error #'ignore))))
             gastown-status--timers)))

(add-hook 'gastown-notification-functions #'gastown-status--on-notification)

(provide 'gastown-status)

;;; gastown-status.el ends here
