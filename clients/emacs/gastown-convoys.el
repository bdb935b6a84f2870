;;; gastown-convoys.el --- Convoys and the beads they track  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; `gastown-convoys' shows a `magit-section' tree: each convoy, and
;; under it the beads it tracks with their status, assignee and rig.
;; The buffer updates itself when the server pushes
;; `$/gastown/convoyChanged' (or a feed event touches a shown bead),
;; keeping point and which sections are expanded.

;;; Code:

(require 'gastown)
(require 'magit-section)

(declare-function gastown-bead "gastown-beads" (id &optional town))
(declare-function gastown-sling "gastown-beads" (what target &optional town formula vars))
(declare-function gastown-read-target "gastown-beads" (prompt town))
(declare-function gastown-read-bead "gastown-beads" (prompt town &optional all))
(declare-function gastown-dispatch "gastown-dispatch" ())

(defgroup gastown-convoys nil
  "Convoy trees of Gas Town."
  :group 'gastown)

(defcustom gastown-convoys-show-closed nil
  "Non-nil means list landed and closed convoys too."
  :type 'boolean)

(defcustom gastown-convoys-recent-count 5
  "How many recently landed convoys to show below the open ones.
Zero shows none.  Ignored while `gastown-convoys-show-closed' is on."
  :type 'integer)

(defface gastown-status-open '((t :inherit default))
  "Face of beads that are open.")
(defface gastown-status-in-progress '((t :inherit warning))
  "Face of beads in progress or hooked.")
(defface gastown-status-closed '((t :inherit shadow))
  "Face of closed beads.")
(defface gastown-status-blocked '((t :inherit error))
  "Face of blocked beads.")
(defface gastown-bead-id '((t :inherit font-lock-constant-face))
  "Face of bead ids.")
(defface gastown-assignee '((t :inherit font-lock-variable-name-face))
  "Face of assignees and agent addresses.")

(defun gastown-status-face (status)
  "Return the face showing a bead STATUS."
  (pcase status
    ((or "in_progress" "hooked") 'gastown-status-in-progress)
    ((or "closed" "tombstone") 'gastown-status-closed)
    ((or "blocked" "deferred") 'gastown-status-blocked)
    (_ 'gastown-status-open)))

(defclass gastown-convoy-section (magit-section)
  ((keymap :initform 'gastown-convoy-section-map))
  "A convoy in the convoys buffer; its value is the convoy id.")

(defvar gastown-convoy-section-map
  (let ((map (make-sparse-keymap)))
    (define-key map (kbd "RET") #'gastown-convoys-visit)
    map)
  "Keymap on convoy sections (headings and the bead lines below).")

(defvar gastown-convoys-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map magit-section-mode-map)
    (define-key map (kbd "g") #'gastown-convoys-refresh)
    (define-key map (kbd "c") #'gastown-convoys-create)
    (define-key map (kbd "a") #'gastown-convoys-add)
    (define-key map (kbd "L") #'gastown-convoys-land)
    (define-key map (kbd "k") #'gastown-convoys-close)
    (define-key map (kbd "s") #'gastown-convoys-sling)
    (define-key map (kbd "A") #'gastown-convoys-toggle-closed)
    (define-key map (kbd "?") #'gastown-dispatch)
    (define-key map (kbd "n") #'gastown-convoys-next)
    (define-key map (kbd "p") #'gastown-convoys-previous)
    map)
  "Keymap of `gastown-convoys-mode'.")

(defun gastown-convoys--visible-bead-line-p ()
  "Return non-nil if the current line is a bead line that is shown."
  (and (get-text-property (line-beginning-position) 'gastown-bead)
       (not (invisible-p (line-beginning-position)))))

(defun gastown-convoys-next ()
  "Move to the next bead line of an expanded convoy, else to the next section.
Bead lines are plain lines, not sections (thousands of sections would
cost every insertion), so `magit-section-forward' alone jumps over
them and says \"No next section\" at the last convoy."
  (interactive)
  (let ((start (point)))
    (forward-line 1)
    (unless (gastown-convoys--visible-bead-line-p)
      (goto-char start)
      (magit-section-forward))))

(defun gastown-convoys-previous ()
  "Move to the previous bead line of an expanded convoy, else section."
  (interactive)
  (let ((start (point)))
    (if (and (zerop (forward-line -1)) (gastown-convoys--visible-bead-line-p))
        nil
      (goto-char start)
      (magit-section-backward))))

(define-derived-mode gastown-convoys-mode magit-section-mode "Gastown-Convoys"
  "Major mode listing convoys and the beads they track.
The buffer updates itself as beads change.

\\{gastown-convoys-mode-map}"
  (setq-local header-line-format '(:eval (gastown-header-line)))
  ;; Highlighting a whole convoy of bead lines is noise: mark the line.
  (setq-local magit-section-highlight-hook nil)
  (hl-line-mode 1)
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-convoys-refresh))))

(defvar-local gastown-convoys--list nil
  "Convoys shown, in order: a list of plists.")

(defvar-local gastown-convoys--recent nil
  "The last landed convoys, newest first: a list of plists.")

(defvar-local gastown-convoys--trees nil
  "Hash table from convoy id to the list of beads it tracks.")

(defvar-local gastown-convoys--owners nil
  "Hash table from tracked bead id to the convoy ids tracking it.")

(defvar-local gastown-convoys--dirty nil
  "Convoy ids to fetch again, or t to fetch the whole list.")

(defvar-local gastown-convoys--timer nil
  "Pending update timer.")

(defvar-local gastown-convoys--generation 0
  "Counts full reloads, so answers to older ones are dropped.")

(defvar gastown-convoys-after-render-hook nil
  "Hook run in a convoys buffer after it is drawn again.")

;;;; Data

(defun gastown-convoys--tracked (convoy)
  "Return the beads CONVOY carries inline, or :none if it carries none."
  (let ((beads (gastown-get convoy :tracked :beads :children :issues)))
    (if (and beads (or (vectorp beads) (consp beads))
             (let ((first (elt beads 0))) (and (listp first) (plist-get first :id))))
        (gastown-seq beads)
      (if (or (vectorp beads) (and (null beads) (plist-member convoy :tracked)))
          nil
        :none))))

(defun gastown-convoys--tree-beads (tree)
  "Return the tracked beads of a `convoy/tree' answer TREE."
  (gastown-seq (or (gastown-get tree :tracked :beads :children :issues)
                   (let ((c (plist-get tree :convoy)))
                     (and c (gastown-get c :tracked :beads :children))))))

(defun gastown-convoys--index ()
  "Recompute which convoys track which beads."
  (let ((owners (make-hash-table :test #'equal)))
    (maphash (lambda (cid beads)
               (dolist (b beads)
                 (push cid (gethash (plist-get b :id) owners))))
             gastown-convoys--trees)
    (setq gastown-convoys--owners owners)))

(defun gastown-convoys--load ()
  "Fetch every convoy and its tree, then draw.
Everything is asynchronous: a synchronous request would let timers,
such as another load, run in the middle of this one.  Answers to an
older load are dropped."
  (let* ((buf (current-buffer))
         (town gastown-buffer-town)
         (gen (cl-incf gastown-convoys--generation)))
    (gastown-gc-hold)
    (gastown-async
     'convoy/list (list :status (if gastown-convoys-show-closed "all" "open"))
     (lambda (result)
       (if (and (buffer-live-p buf)
                (= gen (buffer-local-value 'gastown-convoys--generation buf)))
           (with-current-buffer buf
             (gastown-convoys--got-list gen (gastown-result-items result :convoys :items)))
         (gastown-gc-release)))
     :town town
     :on-error (lambda (msg)
                 (gastown-gc-release)
                 (message "Gastown: %s" msg)))
    (if (or gastown-convoys-show-closed (<= gastown-convoys-recent-count 0))
        (setq gastown-convoys--recent nil)
      (gastown-async
       'convoy/list (list :status "recent" :limit gastown-convoys-recent-count)
       (lambda (result)
         (when (and (buffer-live-p buf)
                    (= gen (buffer-local-value 'gastown-convoys--generation buf)))
           (with-current-buffer buf
             (setq gastown-convoys--recent (gastown-result-items result :convoys :items))
             (gastown-convoys--render))))
       :town town
       :on-error (lambda (msg) (message "Gastown: %s" msg))))))

(defun gastown-convoys--got-list (gen convoys)
  "Draw CONVOYS (load number GEN) and fetch the trees they lack.
Ends the `gastown-gc-hold' of the load once everything is drawn."
  (let ((buf (current-buffer))
        (town gastown-buffer-town)
        (trees (make-hash-table :test #'equal))
        (pending nil))
    (dolist (c convoys)
      (let ((inline (gastown-convoys--tracked c)))
        (if (eq inline :none)
            (push (plist-get c :id) pending)
          (puthash (plist-get c :id) inline trees))))
    (setq gastown-convoys--list convoys
          gastown-convoys--trees trees)
    ;; Paint the headings (with the server's progress counts) at once;
    ;; the tracked beads follow when every tree is in.
    (when pending
      (gastown-convoys--index)
      (gastown-convoys--render))
    (let ((left (length pending))
          (done (lambda ()
                  (unwind-protect
                      (when (buffer-live-p buf)
                        (with-current-buffer buf
                          (when (= gen gastown-convoys--generation)
                            (gastown-convoys--index)
                            (gastown-convoys--render))))
                    (gastown-gc-release)))))
      (when (null pending) (funcall done))
      (dolist (id pending)
        (gastown-async
         'convoy/tree (list :id id)
         (lambda (tree)
           (puthash id (gastown-convoys--tree-beads tree) trees)
           (when (zerop (cl-decf left)) (funcall done)))
         :town town
         :on-error (lambda (msg)
                     (message "Gastown: convoy %s: %s" id msg)
                     (when (zerop (cl-decf left)) (funcall done))))))))

(defun gastown-convoys--update-one (id)
  "Fetch convoy ID again and redraw."
  (let ((buf (current-buffer)))
    (gastown-async
     'convoy/tree (list :id id)
     (lambda (tree)
       (when (buffer-live-p buf)
         (with-current-buffer buf
           (let* ((convoy (or (plist-get tree :convoy) tree))
                  (cell (cl-member id gastown-convoys--list
                                   :key (lambda (c) (plist-get c :id)) :test #'equal)))
             (when (and (equal (plist-get convoy :status) "closed")
                        (not gastown-convoys-show-closed))
               ;; It landed: it moves to "Recently landed", which only a
               ;; full load gets right (order, count).
               (gastown-convoys--schedule t))
             (if cell
                 (setcar cell (gastown-convoys--merge (car cell) convoy))
               (setq gastown-convoys--list
                     (append gastown-convoys--list (list convoy))))
             (puthash id (gastown-convoys--tree-beads tree) gastown-convoys--trees)
             (gastown-convoys--index)
             (if cell
                 (gastown-convoys--redraw-one (car cell))
               (gastown-convoys--render))))))
     :town gastown-buffer-town)))

(defun gastown-convoys--merge (old new)
  "Return convoy plist OLD updated with the fields of NEW."
  (let ((res (copy-sequence old)))
    (cl-loop for (k v) on new by #'cddr
             unless (memq k '(:tracked :beads :children :issues))
             do (setq res (plist-put res k v)))
    res))

;;;; Drawing

(defun gastown-convoys--rig (bead)
  "Return the rig of BEAD: given, else from its assignee or id prefix."
  (let ((assignee (gastown-str (plist-get bead :assignee)))
        (id (gastown-str (plist-get bead :id)))
        (rig (gastown-str (plist-get bead :rig))))
    ;; The server sends "" when no rig owns the bead's prefix.
    (or (and (not (string-empty-p rig)) rig)
        (and (string-match "\\`\\([^/]+\\)/" assignee) (match-string 1 assignee))
        (and (string-match "\\`\\([^-]+\\)-" id) (match-string 1 id))
        "")))

(defun gastown-convoys--progress (beads)
  "Return \"closed/total\" for BEADS."
  (format "%d/%d" (cl-count "closed" beads :key (lambda (b) (plist-get b :status))
                            :test #'equal)
          (length beads)))

(defun gastown-convoys--bead-lines (bead depth)
  "Return the lines showing BEAD (and its children) indented by DEPTH.
Beads are plain lines carrying the `gastown-bead' property rather
than sections: thousands of sections mean thousands of markers, and
every insertion in the buffer pays for each marker."
  (let* ((id (gastown-str (plist-get bead :id)))
         (status (gastown-str (plist-get bead :status)))
         (indent (* 2 depth))
         (line (format "%s%-12s %-11s %-24s %-10s %s\n"
                       (make-string indent ?\s) id status
                       (gastown-str (plist-get bead :assignee))
                       (gastown-convoys--rig bead)
                       (gastown-str (plist-get bead :title)))))
    ;; Columns are fixed, so faces go on by position (one `format', no
    ;; intermediate strings).
    (put-text-property indent (+ indent 12) 'face 'gastown-bead-id line)
    (put-text-property (+ indent 13) (+ indent 24) 'face (gastown-status-face status) line)
    (put-text-property (+ indent 25) (+ indent 49) 'face 'gastown-assignee line)
    (put-text-property 0 (length line) 'gastown-bead id line)
    (cons line (cl-loop for child in (gastown-seq (plist-get bead :children))
                        append (gastown-convoys--bead-lines child (1+ depth))))))

(defun gastown-convoys--insert-convoy (convoy)
  "Insert a section for CONVOY and its tracked beads."
  (let* ((id (plist-get convoy :id))
         (beads (gethash id gastown-convoys--trees))
         (status (gastown-str (plist-get convoy :status))))
    (magit-insert-section (gastown-convoy-section id)
      (magit-insert-heading
        (propertize (gastown-str (plist-get convoy :title)) 'face 'magit-section-heading)
        "  " (propertize id 'face 'gastown-bead-id)
        "  " (if beads (gastown-convoys--progress beads)
               (let ((p (plist-get convoy :progress)))
                 (format "%s/%s" (or (plist-get p :closed) 0) (or (plist-get p :total) 0))))
        "  " (propertize status 'face (gastown-status-face status))
        "\n")
      (insert (apply #'concat (cl-loop for bead in beads
                                       append (gastown-convoys--bead-lines bead 1)))))))

(defun gastown-convoys--insert-recent ()
  "Insert the \"Recently landed\" section (convoys not already shown above)."
  (let ((recent (cl-remove-if (lambda (c) (cl-find (plist-get c :id) gastown-convoys--list
                                                   :key (lambda (o) (plist-get o :id)) :test #'equal))
                              gastown-convoys--recent)))
    (when (and recent (not gastown-convoys-show-closed))
      (insert "\n")
      (magit-insert-section (gastown-convoys-recent)
        (magit-insert-heading
          (propertize (format "Recently landed (%d)" (length recent)) 'face 'magit-section-heading)
          "\n")
        (dolist (c recent)
          (let ((id (plist-get c :id))
                (p (plist-get c :progress)))
            (magit-insert-section (gastown-convoy-section id)
              (magit-insert-heading
                "  " (propertize (gastown-str (plist-get c :title)) 'face 'gastown-status-closed)
                "  " (propertize id 'face 'gastown-bead-id)
                (format "  %s/%s" (or (plist-get p :closed) 0) (or (plist-get p :total) 0))
                "  " (propertize (concat "landed " (gastown-convoys--when (plist-get c :closed_at)))
                                 'face 'gastown-status-closed)
                "\n"))))))))

(defun gastown-convoys--when (timestamp)
  "Return TIMESTAMP (RFC 3339) as \"YYYY-MM-DD HH:MM\", or \"\" if absent."
  (let ((ts (gastown-str timestamp)))
    (if (>= (length ts) 16)
        (concat (substring ts 0 10) " " (substring ts 11 16))
      ts)))

(defun gastown-convoys--position ()
  "Return where point is: (CONVOY-IDENT BEAD-ID LINE-OFFSET COLUMN)."
  (let ((section (magit-current-section)))
    (list (and section (magit-section-ident section))
          (get-text-property (point) 'gastown-bead)
          (and section (- (line-number-at-pos) (line-number-at-pos (oref section start))))
          (current-column))))

(defun gastown-convoys--restore (pos)
  "Move point back to POS as returned by `gastown-convoys--position'."
  (pcase-let ((`(,ident ,bead ,offset ,column) pos))
    (let ((section (and ident (magit-get-section ident))))
      (cond
       ((not section) (goto-char (min (point-max) (point))))
       ((and bead (let ((found (gastown-find-property 'gastown-bead bead (oref section start)
                                                     (oref section end))))
                    (and found (goto-char found)))))
       (t (goto-char (oref section start))
          (forward-line (or offset 0))))
      (move-to-column column))))

(defcustom gastown-convoys-render-gc-cons-threshold (* 64 1024 1024)
  "Value of `gc-cons-threshold' while drawing a convoys buffer.
Drawing thousands of bead lines conses a few megabytes; with the
default threshold, garbage collection takes most of the time."
  :type 'integer)

(defun gastown-convoys--render ()
  "Draw the buffer from the data held, keeping point and expansion."
  (let ((gc-cons-threshold (max gc-cons-threshold gastown-convoys-render-gc-cons-threshold))
        (inhibit-read-only t)
        (pos (gastown-convoys--position))
        (old magit-root-section)
        (windows (cl-loop for w in (get-buffer-window-list nil nil t)
                          collect (cons w (window-start w)))))
    (erase-buffer)
    (magit-insert-section (gastown-convoys-root)
      (insert (propertize (format "Convoys (%d)" (length gastown-convoys--list))
                          'face 'magit-section-heading)
              "\n\n")
      (cond
       (gastown-convoys--list
        (dolist (c gastown-convoys--list)
          (gastown-convoys--insert-convoy c)))
       (gastown-convoys--recent
        (insert "No open convoys.  Press c to create one, or sling work with s.\n"))
       (t (insert "No convoys.  Press c to create one, or sling work with s.\n")))
      (gastown-convoys--insert-recent))
    (when old (gastown-convoys--drop-markers old))
    (gastown-convoys--restore pos)
    (dolist (ws windows)
      (set-window-start (car ws) (min (cdr ws) (point-max)) t)
      (set-window-point (car ws) (point)))
    (run-hooks 'gastown-convoys-after-render-hook)))

(defun gastown-convoys--redraw-one (convoy)
  "Redraw only CONVOY's section, keeping point and its expansion.
A pushed change touches one convoy; redrawing 2,000 lines for it
would cost tens of milliseconds and megabytes of garbage."
  (let* ((id (plist-get convoy :id))
         (old (and magit-root-section
                   (magit-get-section `((gastown-convoy-section . ,id)
                                        (gastown-convoys-root))))))
    (if (not old)
        (gastown-convoys--render)
      (let ((inhibit-read-only t)
            (pos (gastown-convoys--position))
            (parent (oref old parent))
            (hidden (oref old hidden))
            new)
        (save-excursion
          (goto-char (oref old start))
          (delete-region (oref old start) (oref old end))
          (let ((magit-insert-section--parent parent)
                (magit-insert-section--oldroot nil))
            (setq new (gastown-convoys--insert-convoy convoy))))
        ;; `magit-insert-section' appended NEW to the parent's children.
        (oset parent children (mapcar (lambda (s) (if (eq s old) new s))
                                      (delq new (oref parent children))))
        (if hidden (magit-section-hide new) (magit-section-show new))
        (when (< (oref parent end) (point-max))
          (set-marker (oref parent end) (point-max)))
        (gastown-convoys--drop-markers old)
        (gastown-convoys--restore pos)
        (run-hooks 'gastown-convoys-after-render-hook)))))

(defvar magit--ellipses-sections)

(defun gastown-convoys--drop-markers (section)
  "Detach the markers of the replaced SECTION tree from the buffer.
Until garbage collection, dead markers still cost every insertion.
magit-section's own per-buffer state may still name sections of the
old tree; it is forgotten too, else its next `post-command-hook'
\(`magit-section-update-highlight') fails on their detached markers."
  (gastown-convoys--detach section)
  (setq magit-section-highlighted-sections nil
        magit-section-unhighlight-sections nil
        magit-section-pre-command-section nil)
  (when (boundp 'magit--ellipses-sections)
    (setq magit--ellipses-sections nil)))

(defun gastown-convoys--detach (section)
  "Point the markers of SECTION and its children nowhere."
  (dolist (slot '(start content end))
    (let ((m (eieio-oref section slot)))
      (when (markerp m) (set-marker m nil))))
  (mapc #'gastown-convoys--detach (oref section children)))

;;;; Updates

(defun gastown-convoys--schedule (what)
  "Mark WHAT (a convoy id, or t for everything) for fetching soon."
  (if (or (eq what t) (eq gastown-convoys--dirty t))
      (setq gastown-convoys--dirty t)
    (cl-pushnew what gastown-convoys--dirty :test #'equal))
  (unless gastown-convoys--timer
    (let ((buf (current-buffer)))
      (setq gastown-convoys--timer
            (run-with-timer 0 nil #'gastown-convoys--flush buf)))))

(defun gastown-convoys--flush (buf)
  "Fetch what changed in convoys buffer BUF."
  (when (buffer-live-p buf)
    (with-current-buffer buf
      (let ((dirty gastown-convoys--dirty))
        (setq gastown-convoys--timer nil
              gastown-convoys--dirty nil)
        (condition-case err
            (if (eq dirty t)
                (gastown-convoys--load)
              (mapc #'gastown-convoys--update-one dirty))
          (error (message "Gastown: %s" (error-message-string err))))))))

(defun gastown-convoys--event-convoys (params)
  "Return the convoy ids a feed event PARAMS touches, t for all, or nil."
  (let* ((ev (or (plist-get params :event) params))
         (bead (gastown-get ev :bead_id :issue_id))
         (kind (gastown-str (gastown-get ev :kind :type)))
         (payload (plist-get ev :payload)))
    (cond
     ((string-match-p "convoy" kind) t)
     ((and (listp payload) (equal (plist-get payload :issue_type) "convoy")) t)
     (bead (gethash bead gastown-convoys--owners)))))

(defvar gastown-convoys--pushing-towns nil
  "Towns whose server has sent `$/gastown/convoyChanged'.
For those, feed events need not be mapped to convoys here.")

(defun gastown-convoys--on-notification (town method params)
  "Update TOWN's convoy buffers on notification METHOD with PARAMS."
  (pcase method
    ('$/gastown/convoyChanged
     (cl-pushnew town gastown-convoys--pushing-towns :test #'equal)
     (let ((id (gastown-get params :id :convoy :convoy_id)))
       (dolist (buf (gastown-buffers-of 'gastown-convoys-mode town))
         (with-current-buffer buf
           (gastown-convoys--schedule
            (if (and (stringp id) (gethash id gastown-convoys--trees)) id t))))))
    ((and '$/gastown/event (guard (not (member town gastown-convoys--pushing-towns))))
     (dolist (buf (gastown-buffers-of 'gastown-convoys-mode town))
       (with-current-buffer buf
         (let ((which (gastown-convoys--event-convoys params)))
           (if (eq which t)
               (gastown-convoys--schedule t)
             (mapc #'gastown-convoys--schedule which))))))))

(add-hook 'gastown-notification-functions #'gastown-convoys--on-notification)

(defun gastown-convoys--on-connected (town)
  "Reload TOWN's convoy buffers after a reconnection."
  (dolist (buf (gastown-buffers-of 'gastown-convoys-mode town))
    (with-current-buffer buf (gastown-convoys--schedule t))))

(add-hook 'gastown-connected-functions #'gastown-convoys--on-connected)

;;;; Commands

;;;###autoload
(defun gastown-convoys (&optional town)
  "Show TOWN's convoys and the beads they track.
With a prefix argument, ask for the town."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let* ((town (or town (gastown-current-town)))
         (buf (gastown-buffer "convoys" town)))
    ;; Connect first, so the connection hook does not load it twice.
    (gastown-conn town)
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-convoys-mode)
        (gastown-convoys-mode)
        (setq gastown-buffer-town town))
      (gastown-convoys--load))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-convoys-refresh ()
  "Fetch every convoy again."
  (interactive)
  (gastown-convoys--load))

(defun gastown-convoys-toggle-closed ()
  "Toggle listing closed convoys."
  (interactive)
  (setq-local gastown-convoys-show-closed (not gastown-convoys-show-closed))
  (gastown-convoys--load))

(defun gastown-convoys--convoy-at-point ()
  "Return the id of the convoy at point, or nil."
  (let ((s (magit-current-section)))
    (while (and s (not (eq (oref s type) 'gastown-convoy-section)))
      (setq s (oref s parent)))
    (and s (oref s value))))

(defun gastown-convoys--read-convoy (prompt)
  "Read a convoy id with PROMPT, defaulting to the one at point."
  (let ((here (gastown-convoys--convoy-at-point)))
    (completing-read prompt (mapcar (lambda (c) (plist-get c :id)) gastown-convoys--list)
                     nil nil nil nil here)))

(defun gastown-convoys-bead-at-point ()
  "Return the id of the tracked bead on this line, or nil."
  (get-text-property (line-beginning-position) 'gastown-bead))

(defun gastown-convoys-visit ()
  "Open the bead (or the convoy) at point."
  (interactive)
  (let ((id (or (gastown-convoys-bead-at-point) (gastown-convoys--convoy-at-point))))
    (if id
        (pop-to-buffer (gastown-bead id gastown-buffer-town))
      (user-error "No bead or convoy here"))))

(defun gastown-read-beads (prompt town)
  "Read several bead ids with PROMPT in TOWN (comma separated)."
  (let ((ids (mapcar (lambda (b) (plist-get b :id))
                     (gastown-result-items
                      (gastown-request 'bead/list (list :limit 500) town) :beads :items))))
    (completing-read-multiple prompt ids)))

(defun gastown-convoys-create (title beads)
  "Create a convoy called TITLE tracking BEADS; return its id."
  (interactive (list (read-string "Convoy title: ")
                     (gastown-read-beads "Track beads (comma separated): "
                                         gastown-buffer-town)))
  (let* ((res (gastown-request 'convoy/create (list :title title :tracked (vconcat beads))
                               gastown-buffer-town))
         (id (gastown-get res :id :convoy)))
    (gastown-result "Gastown: created convoy %s" id)
    (gastown-convoys--schedule t)
    id))

(defun gastown-convoys-add (convoy beads)
  "Add BEADS to CONVOY's tracked set (a landed convoy reopens)."
  (interactive (list (gastown-convoys--read-convoy "Add to convoy: ")
                     (gastown-read-beads "Beads to track: " gastown-buffer-town)))
  (unless beads (user-error "Gastown: name at least one bead to add"))
  (gastown-request 'convoy/add (list :id convoy :tracked (vconcat beads)) gastown-buffer-town)
  (message "Gastown: %s now tracks %s" convoy (string-join beads ", "))
  (gastown-convoys--schedule convoy))

(defun gastown-convoys--has-method-p (method town)
  "Return non-nil if the server of TOWN has METHOD (an older one may lack it)."
  (let ((caps (gastown-seq (plist-get (gastown--state-server-info (gastown--state town))
                                      :capabilities))))
    (or (null caps) (member method caps))))

(defun gastown-convoys-land (convoy &optional force)
  "Land CONVOY: close it and mail CONVOY_LANDED to the Overseer and the Mayor.
While a tracked bead is still open, ask first and land with FORCE;
called from Lisp without FORCE, signal a `user-error' instead."
  (interactive (list (gastown-convoys--read-convoy "Land convoy: ")))
  (let* ((town gastown-buffer-town)
         (tree (gastown-request 'convoy/tree (list :id convoy) town))
         (open (cl-remove-if (lambda (b) (member (plist-get b :status) '("closed" "tombstone")))
                             (gastown-convoys--tree-beads tree)))
         (ids (mapconcat (lambda (b) (plist-get b :id)) (seq-take open 3) ", ")))
    (when (and open (not force))
      (if (and (called-interactively-p 'any)
               (yes-or-no-p (format "%s still tracks %d open bead%s (%s); land it anyway? "
                                    convoy (length open) (if (cdr open) "s" "") ids)))
          (setq force t)
        (user-error "Gastown: %s still tracks %d open bead%s (%s); close them first"
                    convoy (length open) (if (cdr open) "s" "") ids)))
    (if (gastown-convoys--has-method-p "convoy/land" town)
        (gastown-request 'convoy/land (list :id convoy :force (if force t :json-false)) town)
      ;; An older server: closing the convoy bead is what landing was.
      (gastown-request 'bead/close (list :id convoy :reason "landed") town))
    (gastown-result "Gastown: landed %s%s" convoy (if force " (forced)" ""))
    (gastown-convoys--schedule t)))

(defun gastown-convoys-close (convoy reason)
  "Close CONVOY with REASON, whatever the state of its beads."
  (interactive (list (gastown-convoys--read-convoy "Close convoy: ")
                     (read-string "Reason: ")))
  (gastown-request 'bead/close (list :id convoy :reason reason) gastown-buffer-town)
  (message "Gastown: closed %s" convoy)
  (gastown-convoys--schedule t))

(defun gastown-convoys-sling (bead target)
  "Sling BEAD (default: the bead at point) to TARGET (a rig or an agent)."
  (interactive
   (let* ((here (gastown-convoys-bead-at-point))
          (bead (or here (gastown-read-bead "Sling bead: " gastown-buffer-town))))
     (list bead (gastown-read-target (format "Sling %s to: " bead) gastown-buffer-town))))
  (gastown-sling bead target gastown-buffer-town))

(provide 'gastown-convoys)

;;; gastown-convoys.el ends here
