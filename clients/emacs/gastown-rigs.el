;;; gastown-rigs.el --- A town's rigs and their agents  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; `gastown-rigs' lists the town's rigs (`rig/list'), each with its
;; Witness, Refinery, crew and polecats and their state (`agent/list').
;; On an agent line, `s' starts, `x' stops, `r' restarts and `k' nukes
;; it (see gastown-polecats.el), `m' shows its molecules; `a' adds a
;; rig (`rig/add': clone a git URL or path), `c' a crew member
;; (`crew/add').  On a rig, `P' parks it (`rig/park': its agents stop
;; and stay down), `U' unparks it and `D' removes it (`rig/remove',
;; after a confirmation; with a prefix argument its running sessions
;; are stopped first).  The buffer follows the server's pushes
;; (`$/gastown/agentChanged', `$/gastown/event'), coalesced.
;; `gastown-rig-dispatch' puts each rig verb two keys away.

;;; Code:

(require 'gastown)
(require 'magit-section)
(require 'transient)
(require 'gastown-polecats)

(defvar gastown-rigs-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map magit-section-mode-map)
    (define-key map (kbd "a") #'gastown-rig-add)
    (define-key map (kbd "c") #'gastown-crew-add)
    (define-key map (kbd "s") #'gastown-agent-start)
    (define-key map (kbd "x") #'gastown-agent-stop)
    (define-key map (kbd "r") #'gastown-agent-restart)
    (define-key map (kbd "k") #'gastown-agent-nuke)
    (define-key map (kbd "K") #'gastown-agent-nuke-force)
    (define-key map (kbd "m") #'gastown-molecule)
    (define-key map (kbd "P") #'gastown-rig-park)
    (define-key map (kbd "U") #'gastown-rig-unpark)
    (define-key map (kbd "D") #'gastown-rig-remove)
    (define-key map (kbd "g") #'gastown-rigs-refresh)
    map)
  "Keymap of `gastown-rigs-mode'.")

(define-derived-mode gastown-rigs-mode magit-section-mode "Gastown-Rigs"
  "Major mode listing a town's rigs and their agents.

\\{gastown-rigs-mode-map}"
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-rigs-refresh))))

(defun gastown-rigs--state (agent)
  "Return AGENT's state word: stopped, dead, or its recorded state."
  (let ((state (gastown-str (plist-get agent :agent_state))))
    (cond ((not (gastown-true-p (plist-get agent :running))) "stopped")
          ((not (gastown-true-p (plist-get agent :alive))) "dead")
          ((string-empty-p state) "running")
          (t state))))

(defun gastown-rigs--insert-agent (agent)
  "Insert AGENT as a section whose value is its address."
  (let* ((address (gastown-str (plist-get agent :address)))
         (state (gastown-rigs--state agent))
         (hook (mapconcat #'gastown-str (gastown-seq (plist-get agent :hook)) ",")))
    (magit-insert-section (gastown-agent address)
      (insert (format "    %-30s %-9s %s%s\n" address (gastown-str (plist-get agent :role))
                      (propertize state 'face (pcase state
                                                ((or "working" "running") 'success)
                                                ((or "dead" "stuck") 'error)
                                                ("stopped" 'shadow)
                                                (_ 'default)))
                      (if (string-empty-p hook) "" (concat "  hook " hook)))))))

(defun gastown-rigs--insert (rigs agents &optional parked)
  "Insert RIGS, each with its AGENTS, into the current buffer.
PARKED lists the names of the parked rigs."
  (let ((inhibit-read-only t))
    (erase-buffer)
    (magit-insert-section (gastown-rigs-root)
      (magit-insert-heading (format "Rigs (%d)" (length rigs)))
      (when (null rigs)
        (insert "  No rigs yet: `a' adds one (a git URL or path)\n"))
      (dolist (rig rigs)
        (let* ((name (gastown-str (plist-get rig :name)))
               (mine (seq-filter (lambda (a) (equal (plist-get a :rig) name)) agents))
               (up (seq-count (lambda (a) (gastown-true-p (plist-get a :running))) mine)))
          (magit-insert-section (gastown-rig name)
            (magit-insert-heading
              (format "  %s  %s  %d/%d running%s  %s" (propertize name 'face 'bold)
                      (gastown-str (plist-get rig :prefix)) up (length mine)
                      (if (member name parked) (propertize "  parked" 'face 'warning) "")
                      (gastown-str (plist-get rig :url))))
            (dolist (a mine) (gastown-rigs--insert-agent a))
            (insert "\n")))))))

(defun gastown-rigs--show (rigs agents)
  "Show RIGS (a `rig/list' result) and AGENTS, keeping point's line."
  (let ((line (line-number-at-pos)))
    (gastown-rigs--insert (gastown-result-items rigs :rigs) agents
                          (mapcar #'gastown-str (gastown-seq (plist-get rigs :parked))))
    (goto-char (point-min))
    (forward-line (1- line))))

;;;###autoload
(defun gastown-rigs (&optional town)
  "List TOWN's rigs with their agents."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let* ((town (or town (gastown-current-town)))
         (buf (gastown-buffer "rigs" town)))
    (gastown-conn town)
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-rigs-mode)
        (gastown-rigs-mode)
        (setq gastown-buffer-town town))
      (gastown-rigs-refresh))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-rigs-refresh ()
  "Fetch the rigs and agents again."
  (interactive)
  (let ((town gastown-buffer-town))
    (gastown-rigs--show (gastown-request 'rig/list nil town)
                        (gastown-result-items (gastown-request 'agent/list nil town) :agents))))

(defvar gastown-rigs--timers (make-hash-table :test #'equal)
  "Map a town to its pending rigs refresh timer.")

(defun gastown-rigs--on-notification (town method _params)
  "Refresh TOWN's rigs buffers on an agent or ledger change (METHOD), coalesced."
  (when (and (memq method '($/gastown/event $/gastown/agentChanged))
             (gastown-buffers-of 'gastown-rigs-mode town)
             (not (gethash town gastown-rigs--timers)))
    (puthash town
             (run-with-timer
              0.2 nil
              (lambda ()
                (remhash town gastown-rigs--timers)
                (when (gastown-connected-p town)
                  (gastown-async
                   'rig/list nil
                   (lambda (rigs)
                     (gastown-async
                      'agent/list nil
                      (lambda (agents)
                        (dolist (buf (gastown-buffers-of 'gastown-rigs-mode town))
                          (with-current-buffer buf
                            (gastown-rigs--show rigs (gastown-result-items agents :agents)))))
                      :town town :on-error #'ignore))
                   :town town :on-error #'ignore))))
             gastown-rigs--timers)))

(add-hook 'gastown-notification-functions #'gastown-rigs--on-notification)

(defun gastown-rigs--refresh-here ()
  "Refresh the rigs buffer if it is the current one."
  (when (derived-mode-p 'gastown-rigs-mode) (gastown-rigs-refresh)))

;;;###autoload
(defun gastown-rig-add (name url &optional prefix town)
  "Add rig NAME to TOWN: clone URL (a git URL or path), bead PREFIX (optional)."
  (interactive (let ((town (or gastown-buffer-town (gastown-current-town))))
                 (list (read-string "Rig name: ")
                       (read-string "Git URL or path: ")
                       (let ((p (read-string "Bead prefix (empty: derived from the name): ")))
                         (and (not (string-empty-p p)) p))
                       town)))
  (let ((rig (gastown-request 'rig/add (append (list :name name :url url) (and prefix (list :prefix prefix)))
                              town)))
    (gastown-rigs--refresh-here)
    (gastown-result "Gastown: added rig %s (prefix %s) at %s" (gastown-str (plist-get rig :name))
                    (gastown-str (plist-get rig :prefix)) (gastown-str (plist-get rig :repo)))))

(defun gastown-rigs--rig-at-point ()
  "Return the rig of the section at point, or nil."
  (let ((s (and (derived-mode-p 'gastown-rigs-mode) (magit-current-section))))
    (while (and s (not (eq (oref s type) 'gastown-rig)))
      (setq s (oref s parent)))
    (and s (oref s value))))

(defun gastown-rigs--read-rig (prompt town)
  "Read a rig name of TOWN with PROMPT; the rig at point is the default."
  (let ((rigs (mapcar (lambda (r) (gastown-str (plist-get r :name)))
                      (gastown-result-items (gastown-request 'rig/list nil town) :rigs))))
    (unless rigs (user-error "Gastown: this town has no rigs"))
    (completing-read prompt rigs nil t nil nil (gastown-rigs--rig-at-point))))

(defun gastown-rigs--op-message (res verb)
  "Return the one-line summary of rig operation RES (a `RigOp'), done as VERB."
  (let ((stopped (gastown-seq (plist-get res :stopped)))
        (started (gastown-seq (plist-get res :started)))
        (note (gastown-str (plist-get res :note))))
    (concat (format "Gastown: rig %s %s" (gastown-str (plist-get res :rig)) verb)
            (if stopped (concat "; stopped " (mapconcat #'gastown-str stopped ", ")) "")
            (if started (concat "; started " (mapconcat #'gastown-str started ", ")) "")
            (if (string-empty-p note) "" (concat " (" note ")")))))

;;;###autoload
(defun gastown-rig-park (name &optional town)
  "Park rig NAME of TOWN: stop its Witness, Refinery and polecats.
Nothing restarts them (not `gt up', not the daemon) until
`gastown-rig-unpark'.  Return the message."
  (interactive (let ((town (or gastown-buffer-town (gastown-current-town))))
                 (list (gastown-rigs--read-rig "Park rig: " town) town)))
  (let ((res (gastown-request 'rig/park (list :name name) town)))
    (gastown-rigs--refresh-here)
    (gastown-result "%s" (gastown-rigs--op-message res "parked"))))

;;;###autoload
(defun gastown-rig-unpark (name &optional town)
  "Unpark rig NAME of TOWN: start its Witness, Refinery and parked polecats.
Return the message."
  (interactive (let ((town (or gastown-buffer-town (gastown-current-town))))
                 (list (gastown-rigs--read-rig "Unpark rig: " town) town)))
  (let ((res (gastown-request 'rig/unpark (list :name name) town)))
    (gastown-rigs--refresh-here)
    (gastown-result "%s" (gastown-rigs--op-message res "unparked"))))

;;;###autoload
(defun gastown-rig-remove (name &optional force town)
  "Remove rig NAME of TOWN: its directory, agents and route.
The server refuses a rig with running sessions, saying which; FORCE
\(interactively, a prefix argument) stops them first.  Interactively,
asks for confirmation.  Return the message."
  (interactive
   (let* ((town (or gastown-buffer-town (gastown-current-town)))
          (name (gastown-rigs--read-rig "Remove rig: " town))
          (force current-prefix-arg))
     (unless (yes-or-no-p (format "Remove rig %s (its directory, agents and route)%s? " name
                                  (if force ", stopping its running sessions" "")))
       (user-error "Gastown: rig %s kept" name))
     (list name (and force t) town)))
  (let ((rig (gastown-request 'rig/remove (append (list :name name) (and force (list :force t))) town)))
    (gastown-rigs--refresh-here)
    (gastown-result "Gastown: removed rig %s (prefix %s)" (gastown-str (plist-get rig :name))
                    (gastown-str (plist-get rig :prefix)))))

;;;###autoload
(defun gastown-crew-add (rig name &optional town)
  "Add crew member NAME to RIG of TOWN (a full clone).
Start it with `gastown-agent-start'."
  (interactive (let* ((town (or gastown-buffer-town (gastown-current-town)))
                      (rigs (mapcar (lambda (r) (plist-get r :name))
                                    (gastown-result-items (gastown-request 'rig/list nil town) :rigs))))
                 (list (completing-read "Rig: " rigs nil t (gastown-rigs--rig-at-point))
                       (read-string "Crew member's name: ")
                       town)))
  (let ((ident (gastown-request 'crew/add (list :rig rig :name name) town)))
    (gastown-rigs--refresh-here)
    (gastown-result "Gastown: added crew member %s at %s" (gastown-str (plist-get ident :address))
                    (gastown-str (plist-get ident :cwd)))))

;;;###autoload (autoload 'gastown-rig-dispatch "gastown-rigs" nil t)
(transient-define-prefix gastown-rig-dispatch ()
  "Rigs: list, add, park, unpark, remove; crew."
  [["Rig"
    ("l" "List rigs and agents" gastown-rigs)
    ("a" "Add a rig" gastown-rig-add)
    ("P" "Park a rig" gastown-rig-park)
    ("U" "Unpark a rig" gastown-rig-unpark)
    ("D" "Remove a rig" gastown-rig-remove)]
   ["Crew"
    ("c" "Add a crew member" gastown-crew-add)
    ("s" "Start an agent" gastown-agent-start)
    ("x" "Stop an agent" gastown-agent-stop)]])

(provide 'gastown-rigs)

;;; gastown-rigs.el ends here
