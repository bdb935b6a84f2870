;;; gastown-polecats.el --- Crew and polecat sessions, and molecule progress  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; The operator's verbs on an agent's session: start, stop, restart
;; and nuke (a polecat only: its worktree goes, its branch stays), each
;; one call to the server (`agent/start', `agent/stop',
;; `agent/restart', `agent/nuke'), whose refusals (nuke while work is
;; hooked, uncommitted or unmerged) are shown as its one-line reason.
;; `gastown-agent-dispatch' puts each verb two keys away.
;;
;; `gastown-molecule' shows the progress of the molecules on an agent's
;; hook (`mol/status'): steps closed of total, the current steps, and
;; every step with its state; it follows the ledger by push.

;;; Code:

(require 'gastown)
(require 'magit-section)
(require 'transient)

(declare-function gastown-read-agent "gastown-transcript" (prompt town))
(declare-function gastown-agents--at-point "gastown-agents" ())

(defun gastown-polecats--agent-at-point ()
  "Return the agent address at point in a Gas Town buffer, or nil."
  (cond ((derived-mode-p 'gastown-agents-mode) (ignore-errors (gastown-agents--at-point)))
        ((derived-mode-p 'magit-section-mode)
         (let ((s (magit-current-section)))
           (and s (eq (oref s type) 'gastown-agent) (oref s value))))))

(defun gastown-polecats--read (prompt town)
  "Read an agent of TOWN with PROMPT, offering the one at point first."
  (let ((here (gastown-polecats--agent-at-point)))
    (if (and here (not current-prefix-arg)) here (gastown-read-agent prompt town))))

(defun gastown-polecats--town ()
  "Return the town of the current buffer, or the current town."
  (or gastown-buffer-town (gastown-current-town)))

;;;###autoload
(defun gastown-agent-start (agent &optional town)
  "Start AGENT's session in TOWN (a polecat's worktree is made if missing)."
  (interactive (let ((town (gastown-polecats--town)))
                 (list (gastown-polecats--read "Start agent: " town) town)))
  (let ((res (gastown-request 'agent/start (list :agent agent) town)))
    (gastown-result "Gastown: %s %s (%s)" (gastown-str (plist-get res :status)) agent
                    (gastown-str (plist-get res :session)))))

;;;###autoload
(defun gastown-agent-stop (agent &optional town)
  "Stop AGENT's session in TOWN, after confirming when interactive."
  (interactive (let* ((town (gastown-polecats--town))
                      (agent (gastown-polecats--read "Stop agent: " town)))
                 (unless (yes-or-no-p (format "Stop %s's session? " agent))
                   (user-error "Not stopped"))
                 (list agent town)))
  (let ((res (gastown-request 'agent/stop (list :agent agent) town)))
    (gastown-result (if (gastown-true-p (plist-get res :was_running))
                        "Gastown: stopped %s" "Gastown: %s was not running")
                    agent)))

;;;###autoload
(defun gastown-agent-restart (agent &optional town)
  "Give AGENT of TOWN a fresh session, its hook kept."
  (interactive (let* ((town (gastown-polecats--town))
                      (agent (gastown-polecats--read "Restart agent: " town)))
                 (unless (yes-or-no-p (format "Replace %s's session with a fresh one? " agent))
                   (user-error "Not restarted"))
                 (list agent town)))
  (let ((res (gastown-request 'agent/restart (list :agent agent) town)))
    (gastown-result "Gastown: %s %s (session %s)" (gastown-str (plist-get res :status)) agent
                    (gastown-str (plist-get res :session_id)))))

;;;###autoload
(defun gastown-agent-nuke (agent &optional force town)
  "Stop polecat AGENT of TOWN and remove its worktree (its branch stays).
The server refuses while work could be lost; its reason is shown.
With FORCE (a prefix argument), go past the refusals: uncommitted
work is saved under a ref and hooked work goes back to open."
  (interactive (let* ((town (gastown-polecats--town))
                      (force current-prefix-arg)
                      (agent (let ((current-prefix-arg nil))
                               (gastown-polecats--read "Nuke polecat: " town))))
                 (unless (yes-or-no-p (format "%s %s (worktree removed, branch kept)? "
                                              (if force "FORCE-nuke" "Nuke") agent))
                   (user-error "Not nuked"))
                 (list agent force town)))
  (let* ((res (gastown-request 'agent/nuke (append (list :agent agent) (and force '(:force t)))
                               town))
         (nuke (plist-get res :nuke))
         (unhooked (gastown-seq (plist-get res :unhooked))))
    (gastown-result "Gastown: nuked %s%s%s" agent
                    (if nuke (format ", branch %s kept" (gastown-str (plist-get nuke :branch))) "")
                    (if unhooked (format "; back to open: %s" (string-join unhooked ", ")) ""))))

;;;###autoload
(defun gastown-agent-nuke-force (agent &optional town)
  "Nuke polecat AGENT of TOWN past the safety refusals, after confirming."
  (interactive (let* ((town (gastown-polecats--town))
                      (agent (gastown-polecats--read "Force-nuke polecat: " town)))
                 (unless (yes-or-no-p (format "FORCE-nuke %s (uncommitted work saved under a ref, \
hooked work back to open)? " agent))
                   (user-error "Not nuked"))
                 (list agent town)))
  (gastown-agent-nuke agent t town))

;;;; Molecule progress

(defvar gastown-molecule-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map magit-section-mode-map)
    (define-key map (kbd "g") #'gastown-molecule-refresh)
    map)
  "Keymap of `gastown-molecule-mode'.")

(define-derived-mode gastown-molecule-mode magit-section-mode "Gastown-Mol"
  "Major mode showing the progress of an agent's molecules.

\\{gastown-molecule-mode-map}"
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-molecule-refresh))))

(defvar-local gastown-molecule--target nil
  "What the buffer shows: (agent . ADDRESS) or (molecule . ID).")

(defun gastown-molecule--step-face (status)
  "Return the face of a step in STATUS."
  (pcase status
    ("closed" 'success)
    ((or "in_progress" "hooked") 'warning)
    ("blocked" 'error)
    (_ 'default)))

(defun gastown-molecule--insert-one (st)
  "Insert the molecule of `mol/status' result ST."
  (let* ((root (plist-get st :root))
         (p (plist-get st :progress))
         (current (mapcar (lambda (b) (plist-get b :id)) (gastown-seq (plist-get st :current)))))
    (magit-insert-section (gastown-molecule (gastown-str (plist-get root :id)))
      (magit-insert-heading
        (format "%s  %s  %s/%s steps closed (%d%%)%s"
                (propertize (gastown-str (plist-get root :id)) 'face 'bold)
                (gastown-str (plist-get root :title))
                (gastown-str (plist-get p :closed)) (gastown-str (plist-get p :total))
                (round (or (plist-get p :percent) 0))
                (if (gastown-true-p (plist-get p :complete)) "  complete" "")))
      (insert (format "  formula %s  ready %s  in progress %s  blocked %s\n"
                      (gastown-str (plist-get st :formula)) (gastown-str (plist-get p :ready))
                      (gastown-str (plist-get p :in_progress)) (gastown-str (plist-get p :blocked))))
      (dolist (b (gastown-seq (plist-get st :steps)))
        (let ((status (gastown-str (plist-get b :status))))
          (insert (format "  %s %-12s %-11s %s\n"
                          (if (member (plist-get b :id) current) ">" " ")
                          (gastown-str (plist-get b :id))
                          (propertize status 'face (gastown-molecule--step-face status))
                          (gastown-str (plist-get b :title))))))
      (insert "\n"))))

(defun gastown-molecule--fetch (target town)
  "Return (HEADING . STATUSES) for TARGET in TOWN.
STATUSES are `mol/status' results; for an agent, one per molecule on
its hook (hooked beads that belong to no molecule are skipped)."
  (pcase target
    (`(molecule . ,id)
     (cons (format "Molecule %s" id) (list (gastown-request 'mol/status (list :molecule id) town))))
    (`(agent . ,address)
     (let* ((hook (gastown-request 'hook/show (list :agent address) town))
            (ids (mapcar (lambda (b) (plist-get b :id)) (gastown-seq (plist-get hook :hook))))
            (seen nil) (out nil))
       (dolist (id ids)
         (let ((st (ignore-errors (gastown-request 'mol/status (list :molecule id) town))))
           (when (and st (not (member (plist-get (plist-get st :root) :id) seen)))
             (push (plist-get (plist-get st :root) :id) seen)
             (push st out))))
       (cons (format "Molecules of %s (%d on its hook)" address (length ids)) (nreverse out))))))

(defun gastown-molecule--show (fetched)
  "Show FETCHED, a (HEADING . STATUSES) pair, keeping point's line."
  (let ((line (line-number-at-pos))
        (inhibit-read-only t))
    (erase-buffer)
    (magit-insert-section (gastown-molecule-root)
      (magit-insert-heading (car fetched))
      (if (null (cdr fetched))
          (insert "  No molecule: nothing on the hook was poured from a formula\n")
        (mapc #'gastown-molecule--insert-one (cdr fetched))))
    (goto-char (point-min))
    (forward-line (1- line))))

;;;###autoload
(defun gastown-molecule (agent &optional town molecule)
  "Show the progress of the molecules on AGENT's hook in TOWN.
With MOLECULE (an id), show that molecule instead."
  (interactive (let ((town (gastown-polecats--town)))
                 (list (gastown-polecats--read "Molecules of agent: " town) town)))
  (let* ((town (or town (gastown-current-town)))
         (target (if molecule (cons 'molecule molecule) (cons 'agent agent)))
         (buf (gastown-buffer "molecule" town (or molecule agent))))
    (gastown-conn town)
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-molecule-mode)
        (gastown-molecule-mode)
        (setq gastown-buffer-town town))
      (setq gastown-molecule--target target)
      (gastown-molecule-refresh))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-molecule-refresh ()
  "Fetch the molecules' progress again."
  (interactive)
  (gastown-molecule--show (gastown-molecule--fetch gastown-molecule--target gastown-buffer-town)))

(defvar gastown-molecule--timers (make-hash-table :test #'equal)
  "Map a town to its pending molecule refresh timer.")

(defun gastown-molecule--on-notification (town method _params)
  "Refresh TOWN's molecule buffers on a ledger change (METHOD), coalesced."
  (when (and (eq method '$/gastown/event)
             (gastown-buffers-of 'gastown-molecule-mode town)
             (not (gethash town gastown-molecule--timers)))
    (puthash town
             (run-with-timer
              0.2 nil
              (lambda ()
                (remhash town gastown-molecule--timers)
                (dolist (buf (gastown-buffers-of 'gastown-molecule-mode town))
                  (with-current-buffer buf
                    (when (gastown-connected-p town)
                      (condition-case e (gastown-molecule-refresh)
                        (user-error (gastown--log town "!!" "molecule: %s"
                                                  (error-message-string e)))))))))
             gastown-molecule--timers)))

(add-hook 'gastown-notification-functions #'gastown-molecule--on-notification)

;;;###autoload (autoload 'gastown-agent-dispatch "gastown-polecats" nil t)
(transient-define-prefix gastown-agent-dispatch ()
  "Crew and polecat sessions: start, stop, restart, nuke; molecule progress."
  [["Session"
    ("s" "Start" gastown-agent-start)
    ("x" "Stop" gastown-agent-stop)
    ("r" "Restart" gastown-agent-restart)
    ("k" "Nuke a polecat" gastown-agent-nuke)
    ("K" "Force-nuke a polecat" gastown-agent-nuke-force)]
   ["Work"
    ("m" "Molecule progress" gastown-molecule)]])

(provide 'gastown-polecats)

;;; gastown-polecats.el ends here
