;;; gastown-work.el --- Ready and blocked work, broadcast, escalate, any inbox  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; `gastown-work' shows the ready work and the blocked work with what
;; blocks each (`work/board'), following the ledger by push.
;; `gastown-broadcast' mails every agent (or a rig's, a role's) one
;; message (`mail/broadcast'); `gastown-escalate' files an escalation
;; for the Deacon, Mayor and Overseer (`escalate').  `gastown-inbox'
;; shows the open mail of any address, not only `gastown-actor''s.
;; `gastown-ops-dispatch' puts each of them two keys away.

;;; Code:

(require 'gastown)
(require 'magit-section)
(require 'transient)

(declare-function gastown-bead "gastown-beads" (id &optional town))
(declare-function gastown-bead-dep-add "gastown-beadlist" (issue depends-on &optional type town))
(declare-function gastown-bead-dep-remove "gastown-beadlist" (issue depends-on &optional town))
(autoload 'gastown-bead-dep-add "gastown-beadlist" nil t)
(autoload 'gastown-bead-dep-remove "gastown-beadlist" nil t)
(declare-function gastown-agent-addresses "gastown-transcript" (town))

;;;; Ready and blocked work

(defvar gastown-work-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map magit-section-mode-map)
    (define-key map (kbd "RET") #'gastown-work-visit)
    (define-key map (kbd "g") #'gastown-work-refresh)
    (define-key map (kbd "b") #'gastown-bead-dep-add)
    (define-key map (kbd "B") #'gastown-bead-dep-remove)
    map)
  "Keymap of `gastown-work-mode'.")

(define-derived-mode gastown-work-mode magit-section-mode "Gastown-Work"
  "Major mode showing a town's ready and blocked work.

\\{gastown-work-mode-map}"
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-work-refresh))))

(defun gastown-work--bead-line (bead &optional blockers)
  "Return the display line of BEAD (and its BLOCKERS)."
  (format "  %-12s P%s %-8s %s%s\n" (propertize (gastown-str (plist-get bead :id)) 'face 'bold)
          (gastown-str (plist-get bead :priority)) (gastown-str (plist-get bead :issue_type))
          (gastown-str (plist-get bead :title))
          (if blockers (propertize (format "  blocked by %s" (string-join blockers ", ")) 'face 'warning)
            "")))

(defun gastown-work--insert (board)
  "Insert BOARD (a `work/board' result) into the current buffer."
  (let ((inhibit-read-only t)
        (ready (gastown-seq (plist-get board :ready)))
        (blocked (gastown-seq (plist-get board :blocked))))
    (erase-buffer)
    (magit-insert-section (gastown-work-root)
      (magit-insert-section (gastown-work-ready)
        (magit-insert-heading (format "Ready (%d)" (length ready)))
        ;; Beads are lines carrying their id, not sections: hundreds of
        ;; sections take seconds to insert (magit-section's per-section cost).
        (dolist (b ready)
          (insert (propertize (gastown-work--bead-line b) 'gastown-bead (plist-get b :id))))
        (insert "\n"))
      (magit-insert-section (gastown-work-blocked)
        (magit-insert-heading (format "Blocked (%d)" (length blocked)))
        (dolist (item blocked)
          (let ((b (plist-get item :bead)))
            (insert (propertize (gastown-work--bead-line b (mapcar #'gastown-str
                                                                   (gastown-seq (plist-get item :blockers))))
                                'gastown-bead (plist-get b :id)))))))))

(defun gastown-work--show (board)
  "Show BOARD, keeping point's line."
  (let ((line (line-number-at-pos)))
    (gastown-work--insert board)
    (goto-char (point-min))
    (forward-line (1- line))))

;;;###autoload
(defun gastown-work (&optional town)
  "Show TOWN's ready work and blocked work (with what blocks each)."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let* ((town (or town (gastown-current-town)))
         (buf (gastown-buffer "work" town)))
    (gastown-conn town)
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-work-mode)
        (gastown-work-mode)
        (setq gastown-buffer-town town))
      (gastown-work-refresh))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-work-refresh ()
  "Fetch the ready and blocked work again."
  (interactive)
  (gastown-work--show (gastown-request 'work/board nil gastown-buffer-town)))

(defun gastown-work-visit ()
  "Open the bead at point."
  (interactive)
  (let ((id (get-text-property (line-beginning-position) 'gastown-bead)))
    (if id
        (pop-to-buffer (gastown-bead id gastown-buffer-town))
      (user-error "No bead on this line"))))

(defvar gastown-work--timers (make-hash-table :test #'equal)
  "Map a town to its pending work-board refresh timer.")

(defun gastown-work--on-notification (town method _params)
  "Refresh TOWN's work buffers on a ledger change (METHOD), coalesced."
  (when (and (eq method '$/gastown/event)
             (gastown-buffers-of 'gastown-work-mode town)
             (not (gethash town gastown-work--timers)))
    (puthash town
             (run-with-timer
              0.2 nil
              (lambda ()
                (remhash town gastown-work--timers)
                (when (gastown-connected-p town)
                  (gastown-async 'work/board nil
                                 (lambda (board)
                                   (dolist (buf (gastown-buffers-of 'gastown-work-mode town))
                                     (with-current-buffer buf (gastown-work--show board))))
                                 :town town :on-error #'ignore))))
             gastown-work--timers)))

(add-hook 'gastown-notification-functions #'gastown-work--on-notification)

;;;; Broadcast and escalate

(defconst gastown-work--roles '("" "mayor" "deacon" "witness" "refinery" "polecat" "crew")
  "Roles a broadcast may be limited to (\"\": every role).")

;;;###autoload
(defun gastown-broadcast (subject body &optional rig role town)
  "Mail SUBJECT and BODY to every agent of TOWN (or RIG's, or ROLE's)."
  (interactive (let ((town (or gastown-buffer-town (gastown-current-town))))
                 (list (read-string "Broadcast subject: ")
                       (read-string "Body: ")
                       (let ((r (completing-read
                                 "Only the agents of rig (empty: every rig): "
                                 (mapcar (lambda (r) (plist-get r :name))
                                         (gastown-result-items (gastown-request 'rig/list nil town) :rigs)))))
                         (and (not (string-empty-p r)) r))
                       (let ((r (completing-read "Only the role (empty: every role): "
                                                 gastown-work--roles nil t)))
                         (and (not (string-empty-p r)) r))
                       town)))
  (let* ((res (gastown-request 'mail/broadcast
                               (append (list :subject subject :body body)
                                       (and rig (list :rig rig)) (and role (list :role role)))
                               town))
         (to (mapcar (lambda (m) (plist-get m :to)) (gastown-seq (plist-get res :messages)))))
    (gastown-result "Gastown: sent %d message(s): %s" (length to) (string-join to ", "))))

(defconst gastown-work--severities '("low" "medium" "high" "critical")
  "Escalation severities; critical goes straight to the Mayor and Overseer.")

;;;###autoload
(defun gastown-escalate (description &optional severity body town)
  "Escalate DESCRIPTION in TOWN with SEVERITY and details BODY."
  (interactive (list (read-string "Escalate (what is wrong): ")
                     (completing-read "Severity: " gastown-work--severities nil t nil nil "medium")
                     (read-string "Details (optional): ")
                     (or gastown-buffer-town (gastown-current-town))))
  (let ((esc (gastown-request 'escalate (append (list :description description)
                                                (and severity (list :severity severity))
                                                (and body (not (string-empty-p body)) (list :body body)))
                              town)))
    (gastown-result "Gastown: escalated %s [%s] to %s" (plist-get esc :id) (plist-get esc :severity)
                    (plist-get esc :holder))))

;;;; Any inbox

(defvar gastown-inbox-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map magit-section-mode-map)
    (define-key map (kbd "g") #'gastown-inbox-refresh)
    map)
  "Keymap of `gastown-inbox-mode'.")

(define-derived-mode gastown-inbox-mode magit-section-mode "Gastown-Inbox"
  "Major mode showing the open mail of one address, bodies folded.

\\{gastown-inbox-mode-map}"
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-inbox-refresh))))

(defvar-local gastown-inbox--address nil
  "The address whose inbox the buffer shows.")

(defun gastown-inbox--insert (result)
  "Insert the `mail/inbox' RESULT into the current buffer."
  (let ((inhibit-read-only t)
        (msgs (gastown-seq (plist-get result :messages))))
    (erase-buffer)
    (magit-insert-section (gastown-inbox-root)
      (magit-insert-heading (format "Inbox of %s (%d open, %s unread)" (plist-get result :address)
                                    (length msgs) (gastown-str (plist-get result :unread))))
      (unless msgs (insert "  No open mail\n"))
      (dolist (m msgs)
        (magit-insert-section (gastown-inbox-message (plist-get m :id) t)
          (magit-insert-heading
            (format "  %-12s %-16s %-22s %s" (gastown-str (plist-get m :id))
                    (gastown-time (plist-get m :created_at)) (gastown-str (plist-get m :from))
                    (propertize (gastown-str (plist-get m :subject))
                                'face (if (gastown-true-p (plist-get m :read)) 'default 'bold))))
          (insert (replace-regexp-in-string "^" "      " (string-trim-right (gastown-str (plist-get m :body))))
                  "\n"))))))

;;;###autoload
(defun gastown-inbox (address &optional town)
  "Show the open mail of ADDRESS in TOWN (any agent, list or the Overseer).
Reading here marks nothing read: the inbox stays as its owner left it."
  (interactive (let ((town (or gastown-buffer-town (gastown-current-town))))
                 (list (completing-read "Inbox of: " (append '("overseer" "mayor/" "deacon/")
                                                             (gastown-agent-addresses town)))
                       town)))
  (let* ((town (or town (gastown-current-town)))
         (buf (gastown-buffer "inbox" town address)))
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-inbox-mode)
        (gastown-inbox-mode)
        (setq gastown-buffer-town town))
      (setq gastown-inbox--address address)
      (gastown-inbox-refresh))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-inbox-refresh ()
  "Fetch the inbox again."
  (interactive)
  (gastown-inbox--insert (gastown-request 'mail/inbox (list :address gastown-inbox--address)
                                          gastown-buffer-town)))

(defvar gastown-inbox--timers (make-hash-table :test #'equal)
  "Map a town to its pending inbox refresh timer.")

(defun gastown-inbox--on-notification (town method _params)
  "Refresh TOWN's inbox buffers on mail and ledger pushes (METHOD), coalesced."
  (when (and (memq method '($/gastown/mailArrived $/gastown/event))
             (gastown-buffers-of 'gastown-inbox-mode town)
             (not (gethash town gastown-inbox--timers)))
    (puthash town
             (run-with-timer
              0.2 nil
              (lambda ()
                (remhash town gastown-inbox--timers)
                (dolist (buf (gastown-buffers-of 'gastown-inbox-mode town))
                  (gastown-async 'mail/inbox (list :address (buffer-local-value 'gastown-inbox--address buf))
                                 (lambda (result)
                                   (when (buffer-live-p buf)
                                     (with-current-buffer buf (gastown-inbox--insert result))))
                                 :town town :on-error #'ignore))))
             gastown-inbox--timers)))

(add-hook 'gastown-notification-functions #'gastown-inbox--on-notification)

;;;###autoload (autoload 'gastown-ops-dispatch "gastown-work" nil t)
(transient-define-prefix gastown-ops-dispatch ()
  "The operator's town-wide verbs."
  [["Work"
    ("w" "Ready and blocked work" gastown-work)]
   ["Tell"
    ("b" "Broadcast to agents" gastown-broadcast)
    ("e" "Escalate" gastown-escalate)
    ("i" "Inbox of any address" gastown-inbox)]])

(provide 'gastown-work)

;;; gastown-work.el ends here
