;;; gastown-agents.el --- Every agent of a town, and seances  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; `gastown-agents' lists every agent with its role, rig, state, hook
;; and last activity, updated by `$/gastown/agentChanged' pushes.  RET
;; opens an agent's live transcript; other keys nudge, hand off, peek,
;; attach, show the hook, and ask a predecessor session
;; (`gastown-seance').

;;; Code:

(require 'gastown)
(require 'gastown-transcript)
(require 'tabulated-list)

(declare-function gastown-bead "gastown-beads" (id &optional town))

(defgroup gastown-agents nil
  "The agents of a Gas Town."
  :group 'gastown)

(defcustom gastown-peek-lines 40
  "Lines of an agent's pane shown by `gastown-agents-peek'."
  :type 'integer)

(defcustom gastown-seance-timeout 300
  "Seconds to wait for a predecessor session to answer a seance question."
  :type 'number)

(defvar gastown-agents-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map tabulated-list-mode-map)
    (define-key map (kbd "RET") #'gastown-agents-transcript)
    (define-key map (kbd "n") #'gastown-agents-nudge)
    (define-key map (kbd "H") #'gastown-agents-handoff)
    (define-key map (kbd "p") #'gastown-agents-peek)
    (define-key map (kbd "a") #'gastown-agents-attach)
    (define-key map (kbd "k") #'gastown-agents-hook)
    (define-key map (kbd "s") #'gastown-agents-seance)
    (define-key map (kbd "g") #'gastown-agents-refresh)
    map)
  "Keymap of `gastown-agents-mode'.")

(define-derived-mode gastown-agents-mode tabulated-list-mode "Gastown-Agents"
  "Major mode listing every agent of a town.

\\{gastown-agents-mode-map}"
  (setq tabulated-list-format [("Agent" 28 t) ("Role" 10 t) ("Rig" 12 t)
                               ("State" 10 t) ("Hook" 14 t) ("Last activity" 16 t)
                               ("Cost" 9 gastown-agents--cost-less-p :right-align t)
                               ("Sandbox" 12 t)]
        tabulated-list-padding 1
        tabulated-list-sort-key nil)
  (tabulated-list-init-header)
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-agents-refresh))))

(defun gastown-agents--address (agent)
  "Return AGENT's address."
  (gastown-str (gastown-get agent :address :id :name)))

(defconst gastown-agents--live-states
  '("running" "working" "active" "busy" "spawning" "started" "up")
  "Agent states that claim a live session.")

(defun gastown-agents--state (agent)
  "Return AGENT's state for display (its agent state, else alive or not).
A state claiming a live session while the session does not exist
yet (just after a sling: the ledger is written before tmux starts
it) is \"starting\", not a contradictory \"running\" with no session."
  (let ((state (gastown-str (gastown-get agent :agent_state :state))))
    (cond ((and (member (downcase state) gastown-agents--live-states)
                (eq (plist-get agent :running) :json-false))
           "starting")
          ((not (string-empty-p state)) state)
          ((gastown-true-p (plist-get agent :alive)) "running")
          ((gastown-true-p (plist-get agent :running)) "dead")
          (t "stopped"))))

(defun gastown-agents--hook (agent)
  "Return the bead ids on AGENT's hook as one string."
  (let ((hook (plist-get agent :hook)))
    (if (stringp hook) hook
      (mapconcat #'gastown-str (gastown-seq hook) ","))))

(defun gastown-agents--cost (agent)
  "Return what AGENT's sessions cost as a string, \"-\" when it used no tokens.
The server prices the usage its runtimes recorded (`gt costs')."""
  (let ((tokens (plist-get agent :tokens))
        (usd (plist-get agent :cost_usd)))
    (if (and (numberp tokens) (> tokens 0) (numberp usd))
        (format (if (< usd 1) "$%.4f" "$%.2f") usd)
      "-")))

(defun gastown-agents--cost-less-p (a b)
  "Return non-nil if the cost in entry A is below the one in entry B."
  (let ((num (lambda (e)
               (let ((s (aref (cadr e) 6)))
                 (if (string-prefix-p "$" s) (string-to-number (substring s 1)) -1)))))
    (< (funcall num a) (funcall num b))))

(defun gastown-agents--sandbox (agent)
  "Return AGENT's sandbox in short: bwrap (+net=none, +tmux, +git), OFF or -."
  (let ((box (plist-get agent :sandbox)))
    (cond ((not (consp box)) "-")
          ((not (gastown-true-p (plist-get box :enabled))) "OFF")
          (t (concat (gastown-str (plist-get box :tool))
                     (if (equal (plist-get box :network) "none") "+net=none" "")
                     (if (gastown-true-p (plist-get box :tmux)) "+tmux" "")
                     (if (gastown-true-p (plist-get box :git_broker)) "+git" ""))))))

(defun gastown-agents--entries (agents)
  "Return `tabulated-list-entries' for AGENTS."
  (mapcar (lambda (a)
            (let ((state (gastown-agents--state a)))
              (list (gastown-agents--address a)
                    (vector (propertize (gastown-agents--address a) 'face 'bold)
                            (gastown-str (plist-get a :role))
                            (gastown-str (plist-get a :rig))
                            (propertize state 'face (pcase state
                                                      ((or "working" "running") 'success)
                                                      ((or "stuck" "dead") 'error)
                                                      ("stopped" 'shadow)
                                                      (_ 'default)))
                            (gastown-agents--hook a)
                            (gastown-time (gastown-get a :last_activity :updated_at))
                            (gastown-agents--cost a)
                            (let ((box (gastown-agents--sandbox a)))
                              (propertize box 'face (if (equal box "OFF") 'warning 'default)))))))
          agents))

(defun gastown-agents--show (agents)
  "Show AGENTS in the current buffer, keeping point."
  (setq tabulated-list-entries (gastown-agents--entries agents))
  (tabulated-list-print t))

;;;###autoload
(defun gastown-agents (&optional town)
  "List every agent of TOWN with role, rig, state, hook and last activity."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let* ((town (or town (gastown-current-town)))
         (buf (gastown-buffer "agents" town)))
    (gastown-conn town)
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-agents-mode)
        (gastown-agents-mode)
        (setq gastown-buffer-town town))
      (gastown-agents-refresh))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-agents-refresh ()
  "Fetch the agents again."
  (interactive)
  (gastown-agents--show (gastown-result-items
                         (gastown-request 'agent/list nil gastown-buffer-town)
                         :agents :items)))

(defun gastown-agents--refresh-async (town)
  "Fetch TOWN's agents in the background and update agent buffers."
  (gastown-async 'agent/list nil
                 (lambda (result)
                   (let ((agents (gastown-result-items result :agents :items)))
                     (dolist (buf (gastown-buffers-of 'gastown-agents-mode town))
                       (with-current-buffer buf (gastown-agents--show agents)))))
                 :town town :on-error #'ignore))

(defvar gastown-agents--timers (make-hash-table :test #'equal)
  "Map a town to its pending agents refresh timer.")

(defun gastown-agents--refresh-soon (town delay)
  "Refresh TOWN's agent buffers after DELAY seconds, once per burst."
  (unless (gethash town gastown-agents--timers)
    (puthash town (run-with-timer delay nil
                                  (lambda ()
                                    (remhash town gastown-agents--timers)
                                    ;; Not for a town whose buffers went (or whose
                                    ;; server was let go) meanwhile: that would start
                                    ;; a server from a timer, or fail there.
                                    (when (and (gastown-buffers-of 'gastown-agents-mode town)
                                               (gastown-connected-p town))
                                      (gastown-agents--refresh-async town))))
             gastown-agents--timers)))

(defun gastown-agents--on-notification (town method _params)
  "Refresh TOWN's agent buffers on an agent change (METHOD).
Any feed event may hook or unhook work, which `agentChanged' does
not announce, so those refresh too, a little later and coalesced."
  (when (gastown-buffers-of 'gastown-agents-mode town)
    (pcase method
      ('$/gastown/agentChanged (gastown-agents--refresh-soon town 0))
      ('$/gastown/event (gastown-agents--refresh-soon town 0.3)))))

(add-hook 'gastown-notification-functions #'gastown-agents--on-notification)
(add-hook 'gastown-connected-functions
          (lambda (town) (when (gastown-buffers-of 'gastown-agents-mode town)
                           (gastown-agents--refresh-async town))))

(defun gastown-agents--at-point ()
  "Return the address of the agent at point."
  (or (tabulated-list-get-id) (user-error "No agent on this line")))

(defun gastown-agents-transcript ()
  "Open the live transcript of the agent at point."
  (interactive)
  (pop-to-buffer (gastown-transcript (gastown-agents--at-point) gastown-buffer-town)))

(defun gastown-agents-nudge (message)
  "Nudge the agent at point with MESSAGE."
  (interactive (list (read-string (format "Nudge %s: " (gastown-agents--at-point)))))
  (gastown-nudge (gastown-agents--at-point) message gastown-buffer-town))

(defun gastown-handoff (agent &optional town)
  "Make AGENT of TOWN hand off: a fresh session takes over its hook."
  (interactive (let ((town (gastown-current-town current-prefix-arg)))
                 (list (gastown-read-agent "Hand off agent: " town) town)))
  (gastown-request 'handoff (list :agent agent) town)
  (message "Gastown: %s is handing off" agent))

(defun gastown-agents-handoff ()
  "Make the agent at point hand off to a fresh session."
  (interactive)
  (let ((agent (gastown-agents--at-point)))
    (when (yes-or-no-p (format "End %s's session and start a fresh one? " agent))
      (gastown-handoff agent gastown-buffer-town))))

(defun gastown-peek (agent &optional town)
  "Show the last lines of AGENT's pane in TOWN."
  (interactive (let ((town (gastown-current-town current-prefix-arg)))
                 (list (gastown-read-agent "Peek at agent: " town) town)))
  (let* ((res (gastown-request 'agent/transcript (list :agent agent :lines gastown-peek-lines)
                               town))
         (text (if (stringp res) res (gastown-str (gastown-get res :text :data :output))))
         (buf (get-buffer-create "*gastown-peek*")))
    (with-current-buffer buf
      (let ((inhibit-read-only t))
        (erase-buffer)
        (insert (propertize (format "%s (last %d lines)\n\n" agent gastown-peek-lines)
                            'face 'bold)
                (gastown-transcript--render text))
        (special-mode)
        (goto-char (point-max))))
    (display-buffer buf)
    buf))

(defun gastown-agents-peek ()
  "Show the last lines of the pane of the agent at point."
  (interactive)
  (gastown-peek (gastown-agents--at-point) gastown-buffer-town))

(defun gastown-agents-attach ()
  "Attach a terminal to the tmux session of the agent at point."
  (interactive)
  (gastown-attach (gastown-agents--at-point) gastown-buffer-town))

(defun gastown-agents-hook ()
  "Show the work on the hook of the agent at point."
  (interactive)
  (let* ((agent (gastown-agents--at-point))
         (res (gastown-request 'hook/show (list :agent agent) gastown-buffer-town))
         (beads (gastown-result-items res :hook :beads))
         (ids (mapcar (lambda (b) (if (stringp b) b (plist-get b :id))) beads)))
    (pcase ids
      ('() (message "Gastown: %s has nothing on its hook" agent))
      (`(,id) (pop-to-buffer (gastown-bead id gastown-buffer-town)))
      (_ (pop-to-buffer (gastown-bead (completing-read "Hooked bead: " ids nil t)
                                      gastown-buffer-town))))))

;;;; Seance

(defvar gastown-seance--progress (make-hash-table :test #'equal)
  "Map a `$/progress' token to the function showing that progress.")

(defvar gastown-seance--counter 0
  "Counter making progress tokens unique.")

(defun gastown-seance--on-notification (_town method params)
  "Show `$/progress' (METHOD, PARAMS) of a seance question being answered."
  (when (eq method '$/progress)
    (let ((fn (gethash (plist-get params :token) gastown-seance--progress))
          (value (plist-get params :value)))
      (when fn
        (funcall fn (gastown-str (plist-get value :message)))
        (when (equal (plist-get value :kind) "end")
          (remhash (plist-get params :token) gastown-seance--progress))))))

(add-hook 'gastown-notification-functions #'gastown-seance--on-notification)

(defun gastown-seance-sessions (agent town)
  "Return the predecessor sessions of AGENT's role in TOWN."
  (gastown-result-items (gastown-request 'seance/list (list :agent agent) town)
                        :sessions :items))

(defun gastown-seance--session-label (s)
  "Return a completion label for seance session S."
  (format "%s  started %s  %s%s" (gastown-str (gastown-get s :session_id :id))
          (gastown-time (gastown-get s :at :started_at))
          (gastown-str (plist-get s :runtime))
          (if (gastown-true-p (plist-get s :current)) "  (current)" "")))

;;;###autoload
(defun gastown-seance (agent session question &optional town)
  "Ask SESSION, a predecessor of AGENT in TOWN, a QUESTION.
The answer appears in the `*gastown-seance*' buffer."
  (interactive
   (let* ((town (gastown-current-town current-prefix-arg))
          (agent (if (derived-mode-p 'gastown-agents-mode)
                     (gastown-agents--at-point)
                   (gastown-read-agent "Seance with predecessors of: " town)))
          (sessions (gastown-seance-sessions agent town))
          (labels (mapcar (lambda (s) (cons (gastown-seance--session-label s) s)) sessions))
          (_ (unless sessions
               (user-error "Gastown: %s has no predecessor sessions" agent)))
          (choice (completing-read "Session: " labels nil t nil nil (caar labels)))
          (session (gastown-get (cdr (assoc choice labels)) :session_id :id))
          (question (read-string "Question: ")))
     (list agent session question town)))
  (let* ((town (or town (gastown-current-town)))
         (buf (get-buffer-create "*gastown-seance*"))
         (marker nil))
    (with-current-buffer buf
      (unless (derived-mode-p 'special-mode) (special-mode))
      (setq gastown-buffer-town town)
      (let ((inhibit-read-only t))
        (goto-char (point-max))
        (insert (propertize (format "%s (session %s)\n" agent session) 'face 'bold)
                (propertize (concat "Q: " question "\n") 'face 'font-lock-keyword-face))
        (setq marker (point-marker))
        (insert "A: (asking...)\n\n")))
    (display-buffer buf)
    (let* ((token (format "gastown-seance-%d" (cl-incf gastown-seance--counter)))
           (replace (lambda (text)
                      (remhash token gastown-seance--progress)
                      (when (buffer-live-p buf)
                        (with-current-buffer buf
                          (let ((inhibit-read-only t))
                            (save-excursion
                              (goto-char marker)
                              (delete-region marker (line-end-position))
                              (insert "A: " text))))))))
      (puthash token
               (lambda (msg)
                 (when (and (buffer-live-p buf) (not (string-empty-p msg)))
                   (with-current-buffer buf
                     (let ((inhibit-read-only t))
                       (save-excursion
                         (goto-char marker)
                         (delete-region marker (line-end-position))
                         ;; Reports are pieces of the answer as it streams: one line here,
                         ;; the whole answer replaces it when it is complete.
                         (insert (format "A: (asking... %s)"
                                         (truncate-string-to-width
                                          (car (split-string msg "\n" t)) 60))))))))
               gastown-seance--progress)
      (jsonrpc-async-request
       (gastown-conn town) 'seance/talk
       (list :session_id session :question question :timeout_s gastown-seance-timeout
             :progress_token token)
       :timeout (+ 10 gastown-seance-timeout)
       :success-fn (lambda (res)
                     (funcall replace (if (stringp res) res
                                        (gastown-str (gastown-get res :answer :text)))))
       :error-fn (lambda (e) (funcall replace (format "error: %s" (plist-get e :message))))
       :timeout-fn (lambda () (funcall replace "no answer (timed out)"))))
    buf))

(defun gastown-agents-seance ()
  "Ask a predecessor of the agent at point a question."
  (interactive)
  (call-interactively #'gastown-seance))

(provide 'gastown-agents)

;;; gastown-agents.el ends here
